//! The client half of a socketlab session: its calls, in the lab's order.
//! Each call prints its result as the lab showed it.
//! Run it once the server has printed its address:
//! cargo run --bin client -- LISTENER_PORT (this file in src/bin/)
//! The crate depends on `socket2 = { version = "0.6", features = ["all"] }`.

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, SockAddr, Socket, Type};

fn main() -> io::Result<()> {
    let mut arguments = std::env::args().skip(1);
    let listener_port = port_argument(arguments.next(), "LISTENER_PORT")?;
    let client = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    println!("socket: ok");
    // in the lab the kernel gave it 127.0.0.1:44258
    client.connect(&at("127.0.0.1", listener_port).into())?;
    println!("connect: local {}", show(&client.local_addr()?));
    let client2 = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    println!("socket: ok");
    // in the lab the kernel gave it 127.0.0.1:44260
    client2.connect(&at("127.0.0.1", listener_port).into())?;
    println!("connect: local {}", show(&client2.local_addr()?));
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

/// A port from the command line: one the server printed.
fn port_argument(argument: Option<String>, name: &str) -> io::Result<u16> {
    argument.and_then(|a| a.parse().ok()).ok_or_else(|| {
        let usage = format!("usage: client {name}: the port the server printed");
        io::Error::new(io::ErrorKind::InvalidInput, usage)
    })
}
