//! The server half of a socketlab session: its calls, in the lab's order.
//! Each call prints its result as the lab showed it.
//! Run it first: cargo run --bin server (this file in src/bin/)
//! then the client, with the port this program prints.
//! It keeps its sockets until you press Enter, so the client finds them.
//! The crate depends on `socket2 = { version = "0.6", features = ["all"] }`.

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, SockAddr, Socket, Type};

fn main() -> io::Result<()> {
    let listener = Socket::new(Domain::IPV6, Type::STREAM, None)?;
    println!("socket: ok");
    // in the lab the kernel chose [::1]:49963
    listener.bind(&at("::1", 0).into())?;
    println!("bind: {}", show(&listener.local_addr()?));
    listener.listen(16)?;
    println!("listen: {}", show(&listener.local_addr()?));
    eprintln!("server: press Enter to close its sockets and end");
    io::stdin().read_line(&mut String::new())?;
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
