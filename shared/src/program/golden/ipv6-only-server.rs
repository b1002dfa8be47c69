//! A socketlab session as a program: the same calls, in the same order.
//! Each call prints its result as the lab showed it.
//! In a crate with `socket2 = { version = "0.6", features = ["all"] }`: cargo run

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, SockAddr, Socket, Type};

fn main() -> io::Result<()> {
    let listener = Socket::new(Domain::IPV6, Type::STREAM, None)?;
    println!("socket: ok");
    // in the lab the kernel chose [::1]:49963
    listener.bind(&at("::1", 0).into())?;
    println!("bind: {}", show(&listener.local_addr()?));
    let listener_port = port_of(&listener.local_addr()?);
    listener.listen(16)?;
    println!("listen: {}", show(&listener.local_addr()?));
    let client = Socket::new(Domain::IPV6, Type::STREAM, None)?;
    println!("socket: ok");
    // in the lab the kernel gave it [::1]:53980
    client.connect(&at("::1", listener_port).into())?;
    println!("connect: local {}", show(&client.local_addr()?));
    let sock = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    println!("socket: ok");
    // the lab got ECONNREFUSED (111)
    match sock.connect(&at("127.0.0.1", listener_port).into()) {
        Ok(_) => {
            println!("connect: local {}", show(&sock.local_addr()?));
        }
        Err(error) => println!("connect: {}", errno_name(&error)),
    }
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
        Some(111) => "ECONNREFUSED".to_owned(),
        _ => error.to_string(),
    }
}
