//! A socketlab session as a program: the same calls, in the same order.
//! Each call prints its result as the lab showed it.
//! In a crate with `socket2 = { version = "0.6", features = ["all"] }`: cargo run

use std::io::{self, Read as _};
use std::net::SocketAddr;

use socket2::{Domain, SockAddr, Socket, Type};

/// The relay's echo_tcp lesson service, on the port its kernel chose:
/// it answers while that relay runs (started again, the relay gets another port).
const ECHO_TCP_PORT: u16 = 46121;

fn main() -> io::Result<()> {
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    println!("socket: ok");
    // in the lab the kernel chose 127.0.0.1:43677
    listener.bind(&at("127.0.0.1", 0).into())?;
    println!("bind: {}", show(&listener.local_addr()?));
    listener.listen(16)?;
    println!("listen: {}", show(&listener.local_addr()?));
    let listener2 = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    println!("socket: ok");
    // in the lab the kernel chose 127.0.0.1:55349
    listener2.bind(&at("127.0.0.1", 0).into())?;
    println!("bind: {}", show(&listener2.local_addr()?));
    listener2.listen(16)?;
    println!("listen: {}", show(&listener2.local_addr()?));
    let sock = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    println!("socket: ok");
    // in the lab the kernel chose 127.0.0.1:51159
    sock.bind(&at("127.0.0.1", 0).into())?;
    println!("bind: {}", show(&sock.local_addr()?));
    drop(sock);
    println!("close: ok");
    let sock2 = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    println!("socket: ok");
    // in the lab the kernel chose 127.0.0.1:58451
    sock2.bind(&at("127.0.0.1", 0).into())?;
    println!("bind: {}", show(&sock2.local_addr()?));
    let sock3 = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    println!("socket: ok");
    sock3.bind(&at("127.0.0.1", 38637).into())?;
    println!("bind: {}", show(&sock3.local_addr()?));
    let sock4 = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    println!("socket: ok");
    sock4.bind(&at("127.0.0.1", 58515).into())?;
    println!("bind: {}", show(&sock4.local_addr()?));
    let client = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    println!("socket: ok");
    // in the lab the kernel gave it 127.0.0.1:44736
    client.connect(&at("127.0.0.1", ECHO_TCP_PORT).into())?;
    println!("connect: local {}", show(&client.local_addr()?));
    let sent = client.send(b"hello\n")?;
    println!("send: {sent} bytes");
    let data = { let mut buf = vec![0; 1024]; (&client).read(&mut buf).map(|n| { buf.truncate(n); buf }) }?;
    println!("recv: {} bytes {}", data.len(), hex(&data));
    let sock5 = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    println!("socket: ok");
    let _sock6 = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    println!("socket: ok");
    drop(sock5);
    println!("close: ok");
    let _sock7 = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    println!("socket: ok");
    let listener3 = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    println!("socket: ok");
    // in the lab the kernel chose 127.0.0.1:35893
    listener3.bind(&at("127.0.0.1", 0).into())?;
    println!("bind: {}", show(&listener3.local_addr()?));
    let listener3_port = port_of(&listener3.local_addr()?);
    listener3.listen(16)?;
    println!("listen: {}", show(&listener3.local_addr()?));
    let client2 = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    println!("socket: ok");
    // in the lab the kernel gave it 127.0.0.1:43974
    client2.connect(&at("127.0.0.1", listener3_port).into())?;
    println!("connect: local {}", show(&client2.local_addr()?));
    let (_conn, peer) = listener3.accept()?;
    println!("accept: peer {}", show(&peer));
    let client3 = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    println!("socket: ok");
    // in the lab the kernel gave it 127.0.0.1:43988
    client3.connect(&at("127.0.0.1", listener3_port).into())?;
    println!("connect: local {}", show(&client3.local_addr()?));
    let (_conn2, peer) = listener3.accept()?;
    println!("accept: peer {}", show(&peer));
    let client4 = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    println!("socket: ok");
    // in the lab the kernel gave it 127.0.0.1:44738
    client4.connect(&at("127.0.0.1", ECHO_TCP_PORT).into())?;
    println!("connect: local {}", show(&client4.local_addr()?));
    let sent = client4.send(b"ping\n")?;
    println!("send: {sent} bytes");
    let data = { let mut buf = vec![0; 1024]; (&client4).read(&mut buf).map(|n| { buf.truncate(n); buf }) }?;
    println!("recv: {} bytes {}", data.len(), hex(&data));
    drop(client4);
    println!("close: ok");
    Ok(())
}

/// 127.0.0.1:80, or [::1]:80 for IPv6.
fn show(address: &SockAddr) -> String {
    address
        .as_socket()
        .map_or_else(|| "?".to_owned(), |address| address.to_string())
}

/// The address ip:port.
fn at(ip: &str, port: u16) -> SocketAddr {
    SocketAddr::new(ip.parse().expect("an IP address"), port)
}

/// The port the kernel gave the socket.
fn port_of(address: &SockAddr) -> u16 {
    address.as_socket().map_or(0, |address| address.port())
}

/// The bytes as hex digits.
fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}
