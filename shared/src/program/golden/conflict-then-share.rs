//! A socketlab session as a program: the same calls, in the same order.
//! Each call prints its result as the lab showed it.
//! In a crate with `socket2 = { version = "0.6", features = ["all"] }`: cargo run

use std::io;
use std::net::{SocketAddr, UdpSocket};

use socket2::{Domain, SockAddr, Socket, Type};

fn main() -> io::Result<()> {
    let sock = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    println!("socket: ok");
    // in the lab the kernel chose 127.0.0.1:44651
    sock.bind(&at("127.0.0.1", 0).into())?;
    println!("bind: {}", show(&sock.local_addr()?));
    let sock_port = port_of(&sock.local_addr()?);
    let sock2 = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    println!("socket: ok");
    // the lab got EADDRINUSE (98)
    match sock2.bind(&at("127.0.0.1", sock_port).into()) {
        Ok(_) => {
            println!("bind: {}", show(&sock2.local_addr()?));
        }
        Err(error) => println!("bind: {}", errno_name(&error)),
    }
    let udp = Socket::new(Domain::IPV4, Type::DGRAM, None).map(UdpSocket::from)?;
    println!("socket: ok");
    socket2::SockRef::from(&udp).bind(&at("127.0.0.1", sock_port).into())?;
    println!("bind: {}", udp.local_addr()?);
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

/// The errno's name, as the lab showed it (the numbers are Linux's).
fn errno_name(error: &io::Error) -> String {
    match error.raw_os_error() {
        Some(98) => "EADDRINUSE".to_owned(),
        _ => error.to_string(),
    }
}
