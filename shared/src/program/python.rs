//! The plan as Python 3, with the `socket` module as its documentation shows it: one
//! `socket.socket` per `socket()`, the calls under their own names, addresses as `(host, port)`
//! tuples, and an `OSError` where the lab got an errno (caught and printed by name, where the
//! lab got one; anything else stops the program with its traceback). A call that waited while
//! the lab went on runs on a thread (`Waiting`), joined where the lab got its answer.

use super::plan::{Address, Plan, Port, Step, When, byte_string, level_name};
use super::{Half, Language, Line, Writer};
use crate::{Done, Family, Op, Shutdown, SocketId, SocketType};

pub(super) fn write(plan: &Plan) -> Vec<Line> {
    let mut w = Writer::default();
    w.line("#!/usr/bin/env python3");
    match super::half_header(plan, Language::Python) {
        None => {
            w.line("\"\"\"A socketlab session as a program: the same calls, in the same order.");
            w.line("");
            w.line(&format!(
                "Each call prints its result as the lab showed it. Run: {}",
                super::command(plan, Language::Python)
            ));
        }
        Some(lines) => {
            w.line(&format!("\"\"\"{}", lines[0]));
            w.line("");
            for line in &lines[1..] {
                w.line(line);
            }
        }
    }
    w.line("\"\"\"");
    w.line("import errno");
    w.line("import socket");
    let half = plan.half != Half::Whole;
    if half {
        w.line("import sys");
    }
    if plan.threads > 0 {
        w.line("import threading");
    }
    for service in plan.services_used() {
        let [first, second] = service.about();
        w.line("");
        w.line(&format!("# {first}"));
        w.line(&format!("# {second}"));
        w.line(&format!("{} = {}", service.constant(), service.port));
    }
    w.line("");
    w.line("");
    w.line("def address(addr):");
    w.line("    \"\"\"(host, port) as 127.0.0.1:80, or [::1]:80 for IPv6.\"\"\"");
    w.line("    host, port = addr[0], addr[1]");
    w.line("    return f\"[{host}]:{port}\" if \":\" in host else f\"{host}:{port}\"");
    w.line("");
    w.line("");
    w.line("def failed(call, error):");
    w.line("    print(f\"{call}: {errno.errorcode.get(error.errno, error.errno)}\")");
    if plan.threads > 0 {
        w.line("");
        w.line("");
        w.line("class Waiting(threading.Thread):");
        w.line("    \"\"\"A call that waits in the kernel while the program goes on.\"\"\"");
        w.line("");
        w.line("    def __init__(self, call):");
        w.line("        super().__init__()");
        w.line("        self.call, self.result, self.error = call, None, None");
        w.line("        self.start()");
        w.line("");
        w.line("    def run(self):");
        w.line("        try:");
        w.line("            self.result = self.call()");
        w.line("        except OSError as error:");
        w.line("            self.error = error");
        w.line("");
        w.line("    def answer(self):");
        w.line("        \"\"\"Waits for the call; its result, or its error raised here.\"\"\"");
        w.line("        self.join()");
        w.line("        if self.error is not None:");
        w.line("            raise self.error");
        w.line("        return self.result");
    }
    w.line("");
    w.line("");
    if plan.half == Half::Server {
        w.line(
            "sys.stdout.reconfigure(line_buffering=True)  # each line at once, even into a pipe",
        );
    }
    if !plan.outside.is_empty() {
        let names: Vec<String> = plan
            .outside
            .iter()
            .map(|(_, name)| name.to_ascii_uppercase())
            .collect();
        w.line(&format!("if len(sys.argv) != {}:", names.len() + 1));
        w.line(&format!(
            "    sys.exit(f\"usage: {{sys.argv[0]}} {}: the port the server printed\")",
            names.join(" ")
        ));
        for (at, (_, name)) in plan.outside.iter().enumerate() {
            w.line(&format!("{name} = int(sys.argv[{}])", at + 1));
        }
    }
    w.items(
        plan,
        |text| format!("# {text}"),
        |w, step| step_lines(w, plan, step),
    );
    if plan.waits_at_end {
        w.line("print(\"server: press Enter to close its sockets and end\", file=sys.stderr)");
        w.line("sys.stdin.readline()");
    }
    w.finish()
}

fn step_lines(w: &mut Writer, plan: &Plan, step: &Step) {
    let failed = step.answer.as_ref().err();
    let syscall = step.op.syscall().to_string();
    if let Some(chose) = step
        .kernel_chose()
        .filter(|_| !matches!(step.when, When::Start(_)))
    {
        w.line(&format!("# {chose}"));
    }
    if let Some(error) = failed {
        w.line(&format!("# the lab got {} ({})", error.errno, error.code));
    }
    let thread = |n: usize| format!("{}_{n}", syscall);
    match step.when {
        When::Start(n) => {
            w.line(&format!(
                "# {syscall} waits in the kernel while the program goes on: a thread"
            ));
            w.line(&format!(
                "{} = Waiting(lambda: {})",
                thread(n),
                call_expression(plan, &step.op)
            ));
            return;
        }
        When::Now | When::Join(_) => {}
    }
    let value = match step.when {
        When::Join(n) => format!("{}.answer()", thread(n)),
        _ => call_expression(plan, &step.op),
    };
    let body = result_lines(plan, step, &value);
    let mut body = body;
    if let Some(socket) = step.keeps_port {
        let var = plan.var(socket);
        body.push(format!("{var}_port = {var}.getsockname()[1]"));
    }
    if failed.is_some() {
        w.line("try:");
        for line in &body {
            w.line(&format!("    {line}"));
        }
        w.line("except OSError as error:");
        w.line(&format!("    failed(\"{syscall}\", error)"));
    } else {
        for line in &body {
            w.line(line);
        }
    }
}

/// The call itself, as an expression.
fn call_expression(plan: &Plan, op: &Op) -> String {
    let var = |socket| plan.var(socket).to_owned();
    match op {
        Op::Socket { family, kind } => format!(
            "socket.socket({}, {})",
            match family {
                Family::Ipv4 => "socket.AF_INET",
                Family::Ipv6 => "socket.AF_INET6",
            },
            match kind {
                SocketType::Stream => "socket.SOCK_STREAM",
                SocketType::Datagram => "socket.SOCK_DGRAM",
            }
        ),
        Op::Setsockopt {
            socket,
            option,
            value,
        } => format!(
            "{}.setsockopt(socket.{}, socket.{}, {value})",
            var(*socket),
            level_name(*option),
            option.c_name()
        ),
        Op::Getsockopt { socket, option } => format!(
            "{}.getsockopt(socket.{}, socket.{})",
            var(*socket),
            level_name(*option),
            option.c_name()
        ),
        Op::Bind { socket, address } => {
            format!("{}.bind({})", var(*socket), tuple(plan, *socket, address))
        }
        Op::Listen { socket, backlog } => format!("{}.listen({backlog})", var(*socket)),
        Op::Accept { socket } => format!("{}.accept()", var(*socket)),
        Op::Connect { socket, address } => {
            format!(
                "{}.connect({})",
                var(*socket),
                tuple(plan, *socket, address)
            )
        }
        Op::Send { socket, data } => {
            format!("{}.send({})", var(*socket), byte_string(data.as_bytes()))
        }
        Op::Recv { socket, max } => format!("{}.recv({max})", var(*socket)),
        Op::Sendto {
            socket,
            data,
            address,
        } => format!(
            "{}.sendto({}, {})",
            var(*socket),
            byte_string(data.as_bytes()),
            tuple(plan, *socket, address)
        ),
        Op::Recvfrom { socket, max } => format!("{}.recvfrom({max})", var(*socket)),
        Op::Shutdown { socket, how } => format!(
            "{}.shutdown({})",
            var(*socket),
            match how {
                Shutdown::Read => "socket.SHUT_RD",
                Shutdown::Write => "socket.SHUT_WR",
                Shutdown::Both => "socket.SHUT_RDWR",
            }
        ),
        Op::Close { socket } => format!("{}.close()", var(*socket)),
        Op::Getsockname { socket } => format!("{}.getsockname()", var(*socket)),
        Op::Getpeername { socket } => format!("{}.getpeername()", var(*socket)),
    }
}

/// The statements that take the call's value (`value`) and print the result line.
fn result_lines(plan: &Plan, step: &Step, value: &str) -> Vec<String> {
    let syscall = step.op.syscall().to_string();
    let var = |socket| plan.var(socket).to_owned();
    match &step.op {
        Op::Socket { .. } => {
            let name = match &step.answer {
                Ok(Done::Socket { socket, .. }) => var(*socket),
                _ => "sock".into(),
            };
            vec![format!("{name} = {value}"), "print(\"socket: ok\")".into()]
        }
        Op::Setsockopt { socket, option, .. } => vec![
            value.to_owned(),
            format!(
                "print(\"{syscall}: {} =\", {}.getsockopt(socket.{}, socket.{}))",
                option.c_name(),
                var(*socket),
                level_name(*option),
                option.c_name()
            ),
        ],
        Op::Getsockopt { option, .. } => vec![format!(
            "print(\"{syscall}: {} =\", {value})",
            option.c_name()
        )],
        Op::Bind { socket, .. } | Op::Listen { socket, .. } => {
            let mut lines = vec![value.to_owned()];
            if let Op::Bind { socket, address } = &step.op
                && let Some(a) = plan.address(*socket, address)
                && matches!(a.port, Port::Typed(0))
            {
                lines.push("# port 0: the kernel chooses one; getsockname says which".into());
            }
            lines.push(format!(
                "print(\"{syscall}:\", address({}.getsockname()))",
                var(*socket)
            ));
            lines
        }
        Op::Accept { .. } => {
            let name = match &step.answer {
                Ok(Done::Accept { socket, .. }) => var(*socket),
                _ => "conn".into(),
            };
            vec![
                format!("{name}, peer = {value}"),
                "print(\"accept: peer\", address(peer))".into(),
            ]
        }
        Op::Connect { socket, .. } => vec![
            value.to_owned(),
            format!(
                "print(\"connect: local\", address({}.getsockname()))",
                var(*socket)
            ),
        ],
        Op::Send { .. } | Op::Sendto { .. } => vec![
            format!("sent = {value}"),
            format!("print(f\"{syscall}: {{sent}} bytes\")"),
        ],
        Op::Recv { .. } => vec![
            format!("data = {value}"),
            "print(f\"recv: {len(data)} bytes {data.hex()}\")".into(),
        ],
        Op::Recvfrom { .. } => vec![
            format!("data, peer = {value}"),
            "print(f\"recvfrom: {len(data)} bytes {data.hex()} from {address(peer)}\")".into(),
        ],
        Op::Shutdown { .. } | Op::Close { .. } => {
            vec![value.to_owned(), format!("print(\"{syscall}: ok\")")]
        }
        Op::Getsockname { .. } | Op::Getpeername { .. } => {
            vec![format!("print(\"{syscall}:\", address({value}))")]
        }
    }
}

/// `("127.0.0.1", 8080)`, or with the port the kernel chose for another socket read back
/// from it.
fn tuple(plan: &Plan, socket: SocketId, text: &str) -> String {
    match plan.address(socket, text) {
        Some(Address { ip, port, .. }) => format!("(\"{ip}\", {})", plan.port_text(port)),
        None => format!("{text:?}"),
    }
}
