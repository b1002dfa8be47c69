//! A socketlab session as a program: the same calls, in the same order.
//! Each call prints its result as the lab showed it.
//! In a crate with `socket2 = { version = "0.6", features = ["all"] }`: cargo run

use std::io::{self, Read as _};
use std::net::SocketAddr;

use socket2::{Domain, SockAddr, Socket, Type};

fn main() -> io::Result<()> {
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    println!("socket: ok");
    listener.set_reuse_address(true)?;
    println!("setsockopt: SO_REUSEADDR = {}", u8::from(listener.reuse_address()?));
    // in the lab the kernel chose 127.0.0.1:44169
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
    // in the lab the kernel gave it 127.0.0.1:41778
    client.connect(&at("127.0.0.1", listener_port).into())?;
    println!("connect: local {}", show(&client.local_addr()?));
    let (conn, peer) = accept_1.join().expect("the accept thread")?;
    println!("accept: peer {}", show(&peer));
    drop(conn);
    println!("close: ok");
    let data = { let mut buf = vec![0; 1024]; (&client).read(&mut buf).map(|n| { buf.truncate(n); buf }) }?;
    println!("recv: {} bytes {}", data.len(), hex(&data));
    drop(client);
    println!("close: ok");
    drop(listener);
    println!("close: ok");
    let listener2 = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    println!("socket: ok");
    // the lab got EADDRINUSE (98)
    match listener2.bind(&at("127.0.0.1", listener_port).into()) {
        Ok(_) => {
            println!("bind: {}", show(&listener2.local_addr()?));
        }
        Err(error) => println!("bind: {}", errno_name(&error)),
    }
    listener2.set_reuse_address(true)?;
    println!("setsockopt: SO_REUSEADDR = {}", u8::from(listener2.reuse_address()?));
    listener2.bind(&at("127.0.0.1", listener_port).into())?;
    println!("bind: {}", show(&listener2.local_addr()?));
    listener2.listen(16)?;
    println!("listen: {}", show(&listener2.local_addr()?));
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

/// The errno's name, as the lab showed it (the numbers are Linux's).
fn errno_name(error: &io::Error) -> String {
    match error.raw_os_error() {
        Some(98) => "EADDRINUSE".to_owned(),
        _ => error.to_string(),
    }
}
