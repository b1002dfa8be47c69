//! The client half of a socketlab session: its calls, in the lab's order.
//! Each call prints its result as the lab showed it.
//! Run it once the server has printed its address:
//! cargo run --bin client -- SERVER_UDP_PORT (this file in src/bin/)
//! The crate depends on `socket2 = { version = "0.6", features = ["all"] }`.

use std::io;
use std::net::{SocketAddr, UdpSocket};

use socket2::{Domain, Socket, Type};

fn main() -> io::Result<()> {
    let mut arguments = std::env::args().skip(1);
    let server_udp_port = port_argument(arguments.next(), "SERVER_UDP_PORT")?;
    let udp = Socket::new(Domain::IPV4, Type::DGRAM, None).map(UdpSocket::from)?;
    println!("socket: ok");
    // in the lab the kernel chose 127.0.0.1:41496
    socket2::SockRef::from(&udp).bind(&at("127.0.0.1", 0).into())?;
    println!("bind: {}", udp.local_addr()?);
    let sent = udp.send_to(b"one", at("127.0.0.1", server_udp_port))?;
    println!("sendto: {sent} bytes");
    let sent = udp.send_to(b"two", at("127.0.0.1", server_udp_port))?;
    println!("sendto: {sent} bytes");
    let sent = udp.send_to(b"three", at("127.0.0.1", server_udp_port))?;
    println!("sendto: {sent} bytes");
    Ok(())
}

/// The address ip:port.
fn at(ip: &str, port: u16) -> SocketAddr {
    SocketAddr::new(ip.parse().expect("an IP address"), port)
}

/// A port from the command line: one the server printed.
fn port_argument(argument: Option<String>, name: &str) -> io::Result<u16> {
    argument.and_then(|a| a.parse().ok()).ok_or_else(|| {
        let usage = format!("usage: client {name}: the port the server printed");
        io::Error::new(io::ErrorKind::InvalidInput, usage)
    })
}
