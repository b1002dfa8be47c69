//! A socketlab session as a program: the same calls, in the same order.
//! Each call prints its result as the lab showed it.
//! In a crate with `socket2 = { version = "0.6", features = ["all"] }`: cargo run

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, SockAddr, Socket, Type};

fn main() -> io::Result<()> {
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    println!("socket: ok");
    // in the lab the kernel chose 127.0.0.1:50771
    listener.bind(&at("127.0.0.1", 0).into())?;
    println!("bind: {}", show(&listener.local_addr()?));
    let listener_port = port_of(&listener.local_addr()?);
    listener.listen(16)?;
    println!("listen: {}", show(&listener.local_addr()?));
    let client = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    println!("socket: ok");
    // accept waits in the kernel while the program goes on: a thread, with a second
    // descriptor of the same socket
    let accept_1 = {
        let listener = listener.try_clone()?;
        std::thread::spawn(move || listener.accept())
    };
    // in the lab the kernel gave it 127.0.0.1:44258
    client.connect(&at("127.0.0.1", listener_port).into())?;
    println!("connect: local {}", show(&client.local_addr()?));
    let (_conn, peer) = accept_1.join().expect("the accept thread")?;
    println!("accept: peer {}", show(&peer));
    let client2 = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    println!("socket: ok");
    // accept waits in the kernel while the program goes on: a thread, with a second
    // descriptor of the same socket
    let accept_2 = {
        let listener = listener.try_clone()?;
        std::thread::spawn(move || listener.accept())
    };
    // in the lab the kernel gave it 127.0.0.1:44260
    client2.connect(&at("127.0.0.1", listener_port).into())?;
    println!("connect: local {}", show(&client2.local_addr()?));
    let (_conn2, peer) = accept_2.join().expect("the accept thread")?;
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

/// The port the kernel gave the socket.
fn port_of(address: &SockAddr) -> u16 {
    address.as_socket().map_or(0, |address| address.port())
}
