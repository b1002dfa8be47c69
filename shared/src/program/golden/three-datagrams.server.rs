//! The server half of a socketlab session: its calls, in the lab's order.
//! Each call prints its result as the lab showed it.
//! Run it first: cargo run --bin server (this file in src/bin/)
//! then the client, with the port this program prints.
//! The crate depends on `socket2 = { version = "0.6", features = ["all"] }`.

use std::io;
use std::net::{SocketAddr, UdpSocket};

use socket2::{Domain, Socket, Type};

fn main() -> io::Result<()> {
    let udp = Socket::new(Domain::IPV4, Type::DGRAM, None).map(UdpSocket::from)?;
    println!("socket: ok");
    // in the lab the kernel chose 127.0.0.1:38148
    socket2::SockRef::from(&udp).bind(&at("127.0.0.1", 0).into())?;
    println!("bind: {}", udp.local_addr()?);
    let (data, from) = { let mut buf = vec![0; 1024]; udp.recv_from(&mut buf).map(|(n, from)| { buf.truncate(n); (buf, from) }) }?;
    println!("recvfrom: {} bytes {} from {from}", data.len(), hex(&data));
    let (data, from) = { let mut buf = vec![0; 1024]; udp.recv_from(&mut buf).map(|(n, from)| { buf.truncate(n); (buf, from) }) }?;
    println!("recvfrom: {} bytes {} from {from}", data.len(), hex(&data));
    let (data, from) = { let mut buf = vec![0; 1024]; udp.recv_from(&mut buf).map(|(n, from)| { buf.truncate(n); (buf, from) }) }?;
    println!("recvfrom: {} bytes {} from {from}", data.len(), hex(&data));
    Ok(())
}

/// The address ip:port.
fn at(ip: &str, port: u16) -> SocketAddr {
    SocketAddr::new(ip.parse().expect("an IP address"), port)
}

/// The bytes as hex digits.
fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}
