//! The plan as Rust: `std::net` where it fits (a datagram socket is a `std::net::UdpSocket`
//! from its `socket()` on), the `socket2` crate where std has no equivalent (a stream socket made
//! on its own, then bound, listened on with the lab's backlog or connected; every option). Errors
//! are `io::Result`: `?` where the lab's call worked, a `match` printing the errno by name where
//! the lab got one. A call that waited while the lab went on runs on a thread with a second
//! descriptor of the same socket (`try_clone`), joined where the lab got its answer.

use super::plan::{Address, Item, Plan, Step, When, byte_string};
use super::{Language, Line, Writer};
use crate::{Done, Family, Op, Shutdown, SockOpt, SocketId, SocketType};

pub(super) fn write(plan: &Plan) -> Vec<Line> {
    let mut body = Writer::default();
    if !plan.outside.is_empty() {
        body.line("    let mut arguments = std::env::args().skip(1);");
        for (_, name) in &plan.outside {
            body.line(&format!(
                "    let {name} = port_argument(arguments.next(), \"{}\")?;",
                name.to_ascii_uppercase()
            ));
        }
    }
    body.items(
        plan,
        |text| format!("    // {text}"),
        |w, step| step_lines(w, plan, step),
    );
    if plan.waits_at_end {
        body.line("    eprintln!(\"server: press Enter to close its sockets and end\");");
        body.line("    io::stdin().read_line(&mut String::new())?;");
    }
    let body = body.finish();
    let uses = |what: &str| body.iter().any(|line| line.text.contains(what));
    let mut w = Writer::default();
    match super::half_header(plan, Language::Rust) {
        None => {
            w.line("//! A socketlab session as a program: the same calls, in the same order.");
            w.line("//! Each call prints its result as the lab showed it.");
            w.line(
                "//! In a crate with `socket2 = { version = \"0.6\", features = [\"all\"] }`: cargo run",
            );
        }
        Some(lines) => {
            for line in &lines {
                w.line(&format!("//! {line}"));
            }
            w.line(
                "//! The crate depends on `socket2 = { version = \"0.6\", features = [\"all\"] }`.",
            );
        }
    }
    w.line("");
    if uses(".read(") {
        w.line("use std::io::{self, Read as _};");
    } else {
        w.line("use std::io;");
    }
    match (uses("at(\""), uses("UdpSocket")) {
        (true, true) => w.line("use std::net::{SocketAddr, UdpSocket};"),
        (true, false) => w.line("use std::net::SocketAddr;"),
        (false, true) => w.line("use std::net::UdpSocket;"),
        (false, false) => {}
    }
    w.line("");
    let helpers: Vec<(&str, &str)> = HELPERS
        .split("\n\n")
        .filter_map(|helper| {
            let name = helper.split("fn ").nth(1)?.split('(').next()?;
            Some((name, helper.trim()))
        })
        .collect();
    let used: Vec<&(&str, &str)> = helpers
        .iter()
        .filter(|(name, _)| uses(&format!("{name}(")))
        .collect();
    if used
        .iter()
        .any(|(name, _)| ["show", "port_of"].contains(name))
    {
        w.line("use socket2::{Domain, SockAddr, Socket, Type};");
    } else {
        w.line("use socket2::{Domain, Socket, Type};");
    }
    for service in plan.services_used() {
        let [first, second] = service.about();
        w.line("");
        w.line(&format!("/// {first}"));
        w.line(&format!("/// {second}"));
        w.line(&format!(
            "const {}: u16 = {};",
            service.constant(),
            service.port
        ));
    }
    w.line("");
    w.line("fn main() -> io::Result<()> {");
    let mut lines = w.finish();
    lines.extend(body);
    let mut w = Writer::default();
    w.line("    Ok(())");
    w.line("}");
    for (_, helper) in used {
        w.line("");
        for line in helper.lines() {
            w.line(line);
        }
    }
    let errnos = plan.errnos();
    if !errnos.is_empty() {
        w.line("");
        w.line("/// The errno's name, as the lab showed it (the numbers are Linux's).");
        w.line("fn errno_name(error: &io::Error) -> String {");
        w.line("    match error.raw_os_error() {");
        for (name, code) in &errnos {
            w.line(&format!("        Some({code}) => \"{name}\".to_owned(),"));
        }
        w.line("        _ => error.to_string(),");
        w.line("    }");
        w.line("}");
    }
    lines.extend(w.finish());
    lines
}

/// The helpers a program may use, each written only if it is.
const HELPERS: &str = r#"/// 127.0.0.1:80, or [::1]:80 for IPv6.
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

/// A port from the command line: one the server printed.
fn port_argument(argument: Option<String>, name: &str) -> io::Result<u16> {
    argument.and_then(|a| a.parse().ok()).ok_or_else(|| {
        let usage = format!("usage: client {name}: the port the server printed");
        io::Error::new(io::ErrorKind::InvalidInput, usage)
    })
}"#;

/// The name a socket is bound to: its variable, with a `_` in front when no later call uses it
/// (it stays open to the end, as in the lab, without a warning).
fn binding(plan: &Plan, socket: SocketId) -> String {
    let used = plan.items.iter().any(|item| match item {
        Item::Step(step) => step.op.socket() == Some(socket),
        Item::Left { op, .. } => op.socket() == Some(socket),
    });
    let name = plan.var(socket);
    if used {
        name.to_owned()
    } else {
        format!("_{name}")
    }
}

fn is_datagram(plan: &Plan, socket: SocketId) -> bool {
    plan.sockets
        .get(&socket)
        .is_some_and(|s| s.kind == SocketType::Datagram)
}

fn step_lines(w: &mut Writer, plan: &Plan, step: &Step) {
    let syscall = step.op.syscall().to_string();
    let failed = step.answer.as_ref().err();
    if let Some(chose) = step
        .kernel_chose()
        .filter(|_| !matches!(step.when, When::Start(_)))
    {
        w.line(&format!("    // {chose}"));
    }
    if let Some(error) = failed {
        w.line(&format!(
            "    // the lab got {} ({})",
            error.errno, error.code
        ));
    }
    if let When::Start(n) = step.when {
        start(w, plan, step, n);
        return;
    }
    if let Op::Close { socket } = &step.op {
        w.line(&format!("    drop({});", plan.var(*socket)));
        w.line("    println!(\"close: ok\");");
        return;
    }
    let value = match step.when {
        When::Join(n) => format!("{syscall}_{n}.join().expect(\"the {syscall} thread\")"),
        _ => call_expression(plan, &step.op),
    };
    let (binding, then) = result_lines(plan, step);
    match failed {
        None => {
            let binding = binding.map_or(String::new(), |b| format!("let {b} = "));
            w.line(&format!("    {binding}{value}?;"));
            for line in then {
                w.line(&format!("    {line}"));
            }
        }
        Some(_) => {
            w.line(&format!("    match {value} {{"));
            w.line(&format!(
                "        Ok({}) => {{",
                binding.unwrap_or_else(|| "_".into())
            ));
            for line in then {
                w.line(&format!("            {line}"));
            }
            w.line("        }");
            w.line(&format!(
                "        Err(error) => println!(\"{syscall}: {{}}\", errno_name(&error)),"
            ));
            w.line("    }");
        }
    }
}

/// The call, as an expression of type `io::Result<_>`.
fn call_expression(plan: &Plan, op: &Op) -> String {
    let var = |socket: SocketId| plan.var(socket).to_owned();
    // socket2's view of a datagram socket (a `std::net::UdpSocket`) for what std lacks.
    let sock = |socket: SocketId| {
        if is_datagram(plan, socket) {
            format!("socket2::SockRef::from(&{})", var(socket))
        } else {
            var(socket)
        }
    };
    match op {
        Op::Socket { family, kind } => {
            let domain = match family {
                Family::Ipv4 => "Domain::IPV4",
                Family::Ipv6 => "Domain::IPV6",
            };
            match kind {
                SocketType::Stream => format!("Socket::new({domain}, Type::STREAM, None)"),
                SocketType::Datagram => {
                    format!("Socket::new({domain}, Type::DGRAM, None).map(UdpSocket::from)")
                }
            }
        }
        Op::Setsockopt {
            socket,
            option,
            value,
        } => {
            let on = *value != 0;
            let call = match option {
                SockOpt::SoReuseaddr => format!("set_reuse_address({on})"),
                SockOpt::SoReuseport => format!("set_reuse_port({on})"),
                SockOpt::Ipv6V6only => format!("set_only_v6({on})"),
                SockOpt::TcpNodelay => format!("set_tcp_nodelay({on})"),
                SockOpt::SoRcvbuf => format!("set_recv_buffer_size({value})"),
                SockOpt::SoSndbuf => format!("set_send_buffer_size({value})"),
            };
            format!("{}.{call}", sock(*socket))
        }
        Op::Getsockopt { socket, option } => format!("{}.{}()", sock(*socket), getter(*option)),
        Op::Bind { socket, address } => {
            format!(
                "{}.bind(&{}.into())",
                sock(*socket),
                address_expression(plan, *socket, address)
            )
        }
        Op::Listen { socket, backlog } => format!("{}.listen({backlog})", var(*socket)),
        Op::Accept { socket } => format!("{}.accept()", var(*socket)),
        Op::Connect { socket, address } => {
            if is_datagram(plan, *socket) {
                format!(
                    "{}.connect({})",
                    var(*socket),
                    address_expression(plan, *socket, address)
                )
            } else {
                format!(
                    "{}.connect(&{}.into())",
                    var(*socket),
                    address_expression(plan, *socket, address)
                )
            }
        }
        Op::Send { socket, data } => {
            format!("{}.send({})", var(*socket), byte_string(data.as_bytes()))
        }
        Op::Recv { socket, max } => {
            if is_datagram(plan, *socket) {
                format!(
                    "{{ let mut buf = vec![0; {max}]; {}.recv(&mut buf).map(|n| {{ buf.truncate(n); buf }}) }}",
                    var(*socket)
                )
            } else {
                format!(
                    "{{ let mut buf = vec![0; {max}]; (&{}).read(&mut buf).map(|n| {{ buf.truncate(n); buf }}) }}",
                    var(*socket)
                )
            }
        }
        Op::Sendto {
            socket,
            data,
            address,
        } => format!(
            "{}.send_to({}, {})",
            var(*socket),
            byte_string(data.as_bytes()),
            address_expression(plan, *socket, address)
        ),
        Op::Recvfrom { socket, max } => format!(
            "{{ let mut buf = vec![0; {max}]; {}.recv_from(&mut buf).map(|(n, from)| {{ buf.truncate(n); (buf, from) }}) }}",
            var(*socket)
        ),
        Op::Shutdown { socket, how } => format!(
            "{}.shutdown(std::net::Shutdown::{})",
            sock(*socket),
            match how {
                Shutdown::Read => "Read",
                Shutdown::Write => "Write",
                Shutdown::Both => "Both",
            }
        ),
        Op::Close { socket } => format!("drop({})", var(*socket)),
        Op::Getsockname { socket } => format!("{}.local_addr()", var(*socket)),
        Op::Getpeername { socket } => format!("{}.peer_addr()", var(*socket)),
    }
}

fn getter(option: SockOpt) -> &'static str {
    match option {
        SockOpt::SoReuseaddr => "reuse_address",
        SockOpt::SoReuseport => "reuse_port",
        SockOpt::Ipv6V6only => "only_v6",
        SockOpt::TcpNodelay => "tcp_nodelay",
        SockOpt::SoRcvbuf => "recv_buffer_size",
        SockOpt::SoSndbuf => "send_buffer_size",
    }
}

/// What the call's value is bound to, and the lines that print the result.
fn result_lines(plan: &Plan, step: &Step) -> (Option<String>, Vec<String>) {
    let syscall = step.op.syscall().to_string();
    let var = |socket: SocketId| plan.var(socket).to_owned();
    let local = |socket: SocketId| {
        if is_datagram(plan, socket) {
            format!("{}.local_addr()?", var(socket))
        } else {
            format!("show(&{}.local_addr()?)", var(socket))
        }
    };
    let mut then = Vec::new();
    let binding = match &step.op {
        Op::Socket { .. } => {
            then.push("println!(\"socket: ok\");".into());
            match &step.answer {
                Ok(Done::Socket { socket, .. }) => Some(binding(plan, *socket)),
                _ => Some("_socket".into()),
            }
        }
        Op::Setsockopt { socket, option, .. } | Op::Getsockopt { socket, option } => {
            let sock = if is_datagram(plan, *socket) {
                format!("socket2::SockRef::from(&{})", var(*socket))
            } else {
                var(*socket)
            };
            let read = match option {
                SockOpt::SoRcvbuf | SockOpt::SoSndbuf => format!("{sock}.{}()?", getter(*option)),
                _ => format!("u8::from({sock}.{}()?)", getter(*option)),
            };
            then.push(format!(
                "println!(\"{syscall}: {} = {{}}\", {read});",
                option.c_name()
            ));
            None
        }
        Op::Bind { socket, .. } | Op::Listen { socket, .. } => {
            then.push(format!(
                "println!(\"{syscall}: {{}}\", {});",
                local(*socket)
            ));
            None
        }
        Op::Accept { .. } => {
            then.push("println!(\"accept: peer {}\", show(&peer));".into());
            let name = match &step.answer {
                Ok(Done::Accept { socket, .. }) => binding(plan, *socket),
                _ => "_conn".into(),
            };
            Some(format!("({name}, peer)"))
        }
        Op::Connect { socket, .. } => {
            then.push(format!(
                "println!(\"connect: local {{}}\", {});",
                local(*socket)
            ));
            None
        }
        Op::Send { .. } | Op::Sendto { .. } => {
            then.push(format!("println!(\"{syscall}: {{sent}} bytes\");"));
            Some("sent".into())
        }
        Op::Recv { .. } => {
            then.push("println!(\"recv: {} bytes {}\", data.len(), hex(&data));".into());
            Some("data".into())
        }
        Op::Recvfrom { .. } => {
            then.push(
                "println!(\"recvfrom: {} bytes {} from {from}\", data.len(), hex(&data));".into(),
            );
            Some("(data, from)".into())
        }
        Op::Shutdown { .. } | Op::Close { .. } => {
            then.push(format!("println!(\"{syscall}: ok\");"));
            None
        }
        Op::Getsockname { socket } | Op::Getpeername { socket } => {
            let shown = if is_datagram(plan, *socket) {
                "address.to_string()"
            } else {
                "show(&address)"
            };
            then.push(format!("println!(\"{syscall}: {{}}\", {shown});"));
            Some("address".into())
        }
    };
    if let Some(socket) = step.keeps_port {
        let read = if is_datagram(plan, socket) {
            format!("{}.local_addr()?.port()", var(socket))
        } else {
            format!("port_of(&{}.local_addr()?)", var(socket))
        };
        then.push(format!("let {}_port = {read};", var(socket)));
    }
    (binding, then)
}

/// A started call: a second descriptor of its socket, moved into a thread.
fn start(w: &mut Writer, plan: &Plan, step: &Step, n: usize) {
    let syscall = step.op.syscall().to_string();
    let Some(socket) = step.op.socket() else {
        return;
    };
    let var = plan.var(socket);
    w.line(&format!(
        "    // {syscall} waits in the kernel while the program goes on: a thread, with a second"
    ));
    w.line("    // descriptor of the same socket");
    w.line(&format!("    let {syscall}_{n} = {{"));
    w.line(&format!("        let {var} = {var}.try_clone()?;"));
    w.line(&format!(
        "        std::thread::spawn(move || {})",
        call_expression(plan, &step.op)
    ));
    w.line("    };");
}

/// `at("127.0.0.1", 8080)`, or with the port the kernel chose for another socket.
fn address_expression(plan: &Plan, socket: SocketId, text: &str) -> String {
    match plan.address(socket, text) {
        Some(Address { ip, port, .. }) => format!("at(\"{ip}\", {})", plan.port_text(port)),
        None => format!("{text:?}.parse::<SocketAddr>().expect(\"an address\")"),
    }
}
