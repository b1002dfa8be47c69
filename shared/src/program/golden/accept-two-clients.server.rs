//! The server half of a socketlab session: its calls, in the lab's order.
//! Each call prints its result as the lab showed it.
//! Run it first: cargo run --bin server (this file in src/bin/)
//! then the client, with the port this program prints.
//! The crate depends on `socket2 = { version = "0.6", features = ["all"] }`.

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, SockAddr, Socket, Type};

fn main() -> io::Result<()> {
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    println!("socket: ok");
    // in the lab the kernel chose 127.0.0.1:50771
    listener.bind(&at("127.0.0.1", 0).into())?;
    println!("bind: {}", show(&listener.local_addr()?));
    listener.listen(16)?;
    println!("listen: {}", show(&listener.local_addr()?));
    let (_conn, peer) = listener.accept()?;
    println!("accept: peer {}", show(&peer));
    let (_conn2, peer) = listener.accept()?;
    println!("accept: peer {}", show(&peer));
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
