//! The plan as C with POSIX sockets, in the idiom of Beej's Guide to Network Programming: a
//! `struct sockaddr_storage` filled by `inet_pton`, `perror` and exit where a call fails that
//! did not fail in the lab, and `errno` printed by name where the lab got one. A call that
//! waited while the lab went on runs on a POSIX thread (`struct waiting`), joined where the lab
//! got its answer. It compiles with `cc -Wall -Werror -pthread`: only the helpers and
//! variables the program uses are written.

use std::collections::BTreeSet;

use super::plan::{Address, Plan, Port, Step, When, level_name, op_address};
use super::{Half, Language, Line, Writer};
use crate::{Done, Family, Op, Shutdown, SocketId, SocketType};

/// What the body uses, so the frame writes exactly that.
#[derive(Debug, Default)]
struct Uses {
    helpers: BTreeSet<&'static str>,
    /// Variables of `main`: `addr`, `peer`, `n`, `value`, `buf`.
    locals: BTreeSet<&'static str>,
    /// The largest `recv`/`recvfrom` asked for, for `buf`.
    buf: u32,
    /// Sockets declared so far.
    declared: BTreeSet<String>,
    /// Kernel-chosen ports kept (`int listener_port;`, declared at the top of `main`).
    ports: BTreeSet<String>,
}

pub(super) fn write(plan: &Plan) -> Vec<Line> {
    let mut body = Writer::default();
    let mut uses = Uses::default();
    body.items(
        plan,
        |text| format!("    /* {text} */"),
        |w, step| step_lines(w, &mut uses, plan, step),
    );
    // The helpers that print or read an address stop the program if getsockname fails.
    if ["print_local", "print_peer", "port_of", "print_option"]
        .iter()
        .any(|h| uses.helpers.contains(h))
    {
        uses.helpers.insert("die");
    }
    let mut w = Writer::default();
    frame_top(&mut w, plan, &uses);
    if plan.outside.is_empty() {
        w.line("int main(void)");
    } else {
        w.line("int main(int argc, char *argv[])");
    }
    w.line("{");
    for (local, declaration) in [
        ("addr", "    struct sockaddr_storage addr;".to_owned()),
        ("addr", "    socklen_t addr_len;".to_owned()),
        ("peer", "    struct sockaddr_storage peer;".to_owned()),
        ("peer", "    socklen_t peer_len;".to_owned()),
        ("n", "    ssize_t n;".to_owned()),
        ("value", "    int value;".to_owned()),
        ("buf", format!("    static char buf[{}];", uses.buf.max(1))),
    ] {
        if uses.locals.contains(local) {
            w.line(&declaration);
        }
    }
    for port in &uses.ports {
        w.line(&format!("    int {port};"));
    }
    if !uses.locals.is_empty() || !uses.ports.is_empty() {
        w.line("");
    }
    if plan.half == Half::Server {
        w.line("    setvbuf(stdout, NULL, _IOLBF, 0); /* each line at once, even into a pipe */");
    }
    if !plan.outside.is_empty() {
        let names: Vec<String> = plan
            .outside
            .iter()
            .map(|(_, name)| name.to_ascii_uppercase())
            .collect();
        w.line(&format!("    if (argc != {}) {{", names.len() + 1));
        w.line(&format!(
            "        fprintf(stderr, \"usage: %s {}: the port the server printed\\n\", argv[0]);",
            names.join(" ")
        ));
        w.line("        return 2;");
        w.line("    }");
        for (at, (_, name)) in plan.outside.iter().enumerate() {
            w.line(&format!("    int {name} = atoi(argv[{}]);", at + 1));
        }
    }
    let mut lines = w.finish();
    lines.extend(body.finish());
    if plan.waits_at_end {
        lines.push(frame(
            "    fprintf(stderr, \"server: press Enter to close its sockets and end\\n\");",
        ));
        lines.push(frame("    getchar();"));
    }
    lines.push(frame("    return 0;"));
    lines.push(frame("}"));
    lines
}

fn frame(text: &str) -> Line {
    Line {
        text: text.to_owned(),
        call: None,
    }
}

/// The comment, the includes and the helpers the body uses.
fn frame_top(w: &mut Writer, plan: &Plan, uses: &Uses) {
    let threads = plan.threads > 0;
    match super::half_header(plan, Language::C) {
        None => {
            w.line("/* A socketlab session as a program: the same calls, in the same order.");
            w.line(" * Each call prints its result as the lab showed it.");
            w.line(&format!(
                " * Build and run: {}",
                super::command(plan, Language::C)
            ));
        }
        Some(lines) => {
            w.line(&format!("/* {}", lines[0]));
            for line in &lines[1..] {
                w.line(&format!(" * {line}"));
            }
        }
    }
    w.line(" */");
    for header in [
        "arpa/inet.h",
        "errno.h",
        "netinet/in.h",
        "netinet/tcp.h",
        "pthread.h",
        "stdio.h",
        "stdlib.h",
        "string.h",
        "sys/socket.h",
        "unistd.h",
    ] {
        if header != "pthread.h" || threads {
            w.line(&format!("#include <{header}>"));
        }
    }
    for service in plan.services_used() {
        let [first, second] = service.about();
        w.line("");
        w.line(&format!("/* {first}"));
        w.line(&format!(" * {second} */"));
        w.line(&format!("#define {} {}", service.constant(), service.port));
    }
    let errnos = plan.errnos();
    if !errnos.is_empty() {
        w.line("");
        w.line("/* The name of an errno this session met, as the lab showed it. */");
        w.line("static const char *errno_name(int error)");
        w.line("{");
        w.line("    switch (error) {");
        for name in errnos.keys() {
            w.line(&format!("    case {name}: return \"{name}\";"));
        }
        w.line("    default: return strerror(error);");
        w.line("    }");
        w.line("}");
    }
    let helper = |w: &mut Writer, name: &str, text: &[&str]| {
        if uses.helpers.contains(name) {
            w.line("");
            for line in text {
                w.line(line);
            }
        }
    };
    helper(
        w,
        "die",
        &[
            "/* A call failed that did not fail in the lab: say why and stop. */",
            "static void die(const char *call)",
            "{",
            "    perror(call);",
            "    exit(1);",
            "}",
        ],
    );
    helper(
        w,
        "make_address",
        &[
            "/* Fills `addr` with ip:port (IPv4 or IPv6); its length. */",
            "static socklen_t make_address(struct sockaddr_storage *addr, const char *ip, int port)",
            "{",
            "    memset(addr, 0, sizeof *addr);",
            "    struct sockaddr_in *v4 = (struct sockaddr_in *)addr;",
            "    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;",
            "    if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {",
            "        v4->sin_family = AF_INET;",
            "        v4->sin_port = htons(port);",
            "        return sizeof *v4;",
            "    }",
            "    inet_pton(AF_INET6, ip, &v6->sin6_addr);",
            "    v6->sin6_family = AF_INET6;",
            "    v6->sin6_port = htons(port);",
            "    return sizeof *v6;",
            "}",
        ],
    );
    let printing = uses.helpers.contains("print_address")
        || uses.helpers.contains("print_local")
        || uses.helpers.contains("print_peer")
        || uses.helpers.contains("port_of");
    if printing {
        w.line("");
        for line in [
            "/* Prints `label` and an address as 127.0.0.1:80 or [::1]:80. */",
            "static void print_address(const char *label, const struct sockaddr_storage *addr)",
            "{",
            "    char ip[INET6_ADDRSTRLEN];",
            "    if (addr->ss_family == AF_INET6) {",
            "        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)addr;",
            "        inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof ip);",
            "        printf(\"%s[%s]:%d\\n\", label, ip, ntohs(v6->sin6_port));",
            "    } else {",
            "        const struct sockaddr_in *v4 = (const struct sockaddr_in *)addr;",
            "        inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof ip);",
            "        printf(\"%s%s:%d\\n\", label, ip, ntohs(v4->sin_port));",
            "    }",
            "}",
        ] {
            w.line(line);
        }
    }
    helper(
        w,
        "print_local",
        &[
            "/* Prints `label` and the socket's local address (getsockname). */",
            "static void print_local(const char *label, int fd)",
            "{",
            "    struct sockaddr_storage addr;",
            "    socklen_t len = sizeof addr;",
            "    if (getsockname(fd, (struct sockaddr *)&addr, &len) == -1)",
            "        die(\"getsockname\");",
            "    print_address(label, &addr);",
            "}",
        ],
    );
    helper(
        w,
        "print_peer",
        &[
            "/* Prints `label` and the socket's peer address (getpeername). */",
            "static void print_peer(const char *label, int fd)",
            "{",
            "    struct sockaddr_storage addr;",
            "    socklen_t len = sizeof addr;",
            "    if (getpeername(fd, (struct sockaddr *)&addr, &len) == -1)",
            "        die(\"getpeername\");",
            "    print_address(label, &addr);",
            "}",
        ],
    );
    helper(
        w,
        "port_of",
        &[
            "/* The port the kernel gave the socket (getsockname). */",
            "static int port_of(int fd)",
            "{",
            "    struct sockaddr_storage addr;",
            "    socklen_t len = sizeof addr;",
            "    if (getsockname(fd, (struct sockaddr *)&addr, &len) == -1)",
            "        die(\"getsockname\");",
            "    if (addr.ss_family == AF_INET6)",
            "        return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);",
            "    return ntohs(((struct sockaddr_in *)&addr)->sin_port);",
            "}",
        ],
    );
    helper(
        w,
        "print_bytes",
        &[
            "/* Prints `label`, how many bytes and the bytes in hex. */",
            "static void print_bytes(const char *label, const char *data, ssize_t n)",
            "{",
            "    printf(\"%s: %zd bytes \", label, n);",
            "    for (ssize_t i = 0; i < n; i++)",
            "        printf(\"%02x\", (unsigned char)data[i]);",
            "}",
        ],
    );
    helper(
        w,
        "print_option",
        &[
            "/* Prints `label` and the option's value as getsockopt reads it. */",
            "static void print_option(const char *label, int fd, int level, int option, const char *name)",
            "{",
            "    int value;",
            "    socklen_t len = sizeof value;",
            "    if (getsockopt(fd, level, option, &value, &len) == -1)",
            "        die(\"getsockopt\");",
            "    printf(\"%s: %s = %d\\n\", label, name, value);",
            "}",
        ],
    );
    if threads {
        w.line("");
        for line in [
            "/* A call that waits in the kernel while the program goes on, on its own thread. */",
            "struct waiting {",
            "    pthread_t thread;",
            "    int fd;",
            "    struct sockaddr_storage addr; /* connect's and sendto's address; accept's and recvfrom's peer */",
            "    socklen_t addr_len;",
            "    const char *data; /* what send and sendto send */",
            "    size_t len;       /* how much: to send, or at most to receive */",
            "    ssize_t result;",
            "    int error;",
            "    char buf[65536];",
            "};",
        ] {
            w.line(line);
        }
        for (name, call) in [
            (
                "wait_accept",
                "w->addr_len = sizeof w->addr;\n    w->result = accept(w->fd, (struct sockaddr *)&w->addr, &w->addr_len);",
            ),
            (
                "wait_connect",
                "w->result = connect(w->fd, (struct sockaddr *)&w->addr, w->addr_len);",
            ),
            ("wait_send", "w->result = send(w->fd, w->data, w->len, 0);"),
            (
                "wait_sendto",
                "w->result = sendto(w->fd, w->data, w->len, 0, (struct sockaddr *)&w->addr, w->addr_len);",
            ),
            ("wait_recv", "w->result = recv(w->fd, w->buf, w->len, 0);"),
            (
                "wait_recvfrom",
                "w->addr_len = sizeof w->addr;\n    w->result = recvfrom(w->fd, w->buf, w->len, 0, (struct sockaddr *)&w->addr, &w->addr_len);",
            ),
        ] {
            if uses.helpers.contains(name) {
                w.line("");
                w.line(&format!("static void *{name}(void *arg)"));
                w.line("{");
                w.line("    struct waiting *w = arg;");
                for line in call.lines() {
                    w.line(&format!("    {}", line.trim_start()));
                }
                w.line("    w->error = errno;");
                w.line("    return NULL;");
                w.line("}");
            }
        }
    }
    w.line("");
}

fn step_lines(w: &mut Writer, uses: &mut Uses, plan: &Plan, step: &Step) {
    let syscall = step.op.syscall().to_string();
    let failed = step.answer.as_ref().err();
    w.line(&format!("    /* {} */", describe(plan, &step.op)));
    if let Some(chose) = step
        .kernel_chose()
        .filter(|_| !matches!(step.when, When::Start(_)))
    {
        w.line(&format!("    /* {chose} */"));
    }
    if let Some(error) = failed {
        w.line(&format!(
            "    /* the lab got {} ({}) */",
            error.errno, error.code
        ));
    }
    match step.when {
        When::Start(n) => {
            start(w, uses, plan, step, n);
            return;
        }
        When::Join(n) => {
            let thread = format!("{syscall}_{n}");
            w.line(&format!("    pthread_join({thread}.thread, NULL);"));
            w.line(&format!("    errno = {thread}.error;"));
        }
        When::Now => {}
    }
    let var = |socket: SocketId| plan.var(socket).to_owned();
    // On success (what the lab got), else the errno printed by name.
    let on_error = |w: &mut Writer, uses: &mut Uses| {
        if failed.is_some() {
            w.line(&format!(
                "        printf(\"{syscall}: %s\\n\", errno_name(errno));"
            ));
        } else {
            uses.helpers.insert("die");
            w.line(&format!("        die(\"{syscall}\");"));
        }
    };
    // `if (CALL == -1) on_error; else { then }`.
    let check = |w: &mut Writer, uses: &mut Uses, call: &str, then: &[String]| {
        w.line(&format!("    if ({call} == -1)"));
        on_error(w, uses);
        match then {
            [] => {}
            // die() does not return: what follows is the success.
            lines if failed.is_none() => {
                for line in lines {
                    w.line(&format!("    {line}"));
                }
            }
            many => {
                w.line("    else {");
                for line in many {
                    w.line(&format!("        {line}"));
                }
                w.line("    }");
            }
        }
    };
    let joined = |what: &str| match step.when {
        When::Join(n) => format!("{syscall}_{n}.{what}"),
        _ => String::new(),
    };
    let in_thread = matches!(step.when, When::Join(_));
    match &step.op {
        Op::Socket { family, kind } => {
            let name = match &step.answer {
                Ok(Done::Socket { socket, .. }) => var(*socket),
                _ => "fd".into(),
            };
            let declare = if uses.declared.insert(name.clone()) {
                "int "
            } else {
                ""
            };
            w.line(&format!(
                "    {declare}{name} = socket({}, {}, 0);",
                family_name(*family),
                match kind {
                    SocketType::Stream => "SOCK_STREAM",
                    SocketType::Datagram => "SOCK_DGRAM",
                }
            ));
            check(w, uses, &name, &["printf(\"socket: ok\\n\");".into()]);
        }
        Op::Setsockopt {
            socket,
            option,
            value,
        } => {
            uses.locals.insert("value");
            uses.helpers.insert("print_option");
            w.line(&format!("    value = {value};"));
            let call = format!(
                "setsockopt({}, {}, {}, &value, sizeof value)",
                var(*socket),
                level_name(*option),
                option.c_name()
            );
            check(
                w,
                uses,
                &call,
                &[format!(
                    "print_option(\"setsockopt\", {}, {}, {}, \"{}\");",
                    var(*socket),
                    level_name(*option),
                    option.c_name(),
                    option.c_name()
                )],
            );
        }
        Op::Getsockopt { socket, option } => {
            uses.helpers.insert("print_option");
            w.line(&format!(
                "    print_option(\"getsockopt\", {}, {}, {}, \"{}\");",
                var(*socket),
                level_name(*option),
                option.c_name(),
                option.c_name()
            ));
        }
        Op::Bind { socket, .. } => {
            fill_address(w, uses, plan, &step.op, "addr");
            let call = format!("bind({}, (struct sockaddr *)&addr, addr_len)", var(*socket));
            uses.helpers.insert("print_local");
            let mut then = vec![format!("print_local(\"bind: \", {});", var(*socket))];
            keep_port(uses, plan, step, &mut then);
            check(w, uses, &call, &then);
        }
        Op::Listen { socket, backlog } => {
            uses.helpers.insert("print_local");
            let mut then = vec![format!("print_local(\"listen: \", {});", var(*socket))];
            keep_port(uses, plan, step, &mut then);
            check(
                w,
                uses,
                &format!("listen({}, {backlog})", var(*socket)),
                &then,
            );
        }
        Op::Accept { socket } => {
            let name = match &step.answer {
                Ok(Done::Accept { socket, .. }) => Some(var(*socket)),
                _ => None,
            };
            uses.helpers.insert("print_address");
            let (call, peer) = if in_thread {
                (joined("result"), format!("&{}", joined("addr")))
            } else {
                uses.locals.insert("peer");
                w.line("    peer_len = sizeof peer;");
                (
                    format!(
                        "accept({}, (struct sockaddr *)&peer, &peer_len)",
                        var(*socket)
                    ),
                    "&peer".into(),
                )
            };
            let print = format!("print_address(\"accept: peer \", {peer});");
            match name {
                Some(name) => {
                    let declare = if uses.declared.insert(name.clone()) {
                        "int "
                    } else {
                        ""
                    };
                    let cast = if in_thread { "(int)" } else { "" };
                    w.line(&format!("    {declare}{name} = {cast}{call};"));
                    check(w, uses, &name, &[print]);
                }
                None => check(w, uses, &call, &[print]),
            }
        }
        Op::Connect { socket, .. } => {
            uses.helpers.insert("print_local");
            let then = vec![format!(
                "print_local(\"connect: local \", {});",
                var(*socket)
            )];
            let mut then = then;
            keep_port(uses, plan, step, &mut then);
            if in_thread {
                check(w, uses, &joined("result"), &then);
            } else {
                fill_address(w, uses, plan, &step.op, "addr");
                let call = format!(
                    "connect({}, (struct sockaddr *)&addr, addr_len)",
                    var(*socket)
                );
                check(w, uses, &call, &then);
            }
        }
        Op::Send { socket, data } | Op::Sendto { socket, data, .. } => {
            uses.locals.insert("n");
            let call = if in_thread {
                joined("result")
            } else if let Op::Sendto { .. } = &step.op {
                fill_address(w, uses, plan, &step.op, "addr");
                format!(
                    "sendto({}, {}, {}, 0, (struct sockaddr *)&addr, addr_len)",
                    var(*socket),
                    string_literal(data.as_bytes()),
                    data.len()
                )
            } else {
                format!(
                    "send({}, {}, {}, 0)",
                    var(*socket),
                    string_literal(data.as_bytes()),
                    data.len()
                )
            };
            w.line(&format!("    n = {call};"));
            let mut then = vec![format!("printf(\"{syscall}: %zd bytes\\n\", n);")];
            keep_port(uses, plan, step, &mut then);
            check(w, uses, "n", &then);
        }
        Op::Recv { socket, max } | Op::Recvfrom { socket, max } => {
            uses.locals.insert("n");
            uses.helpers.insert("print_bytes");
            let from = matches!(step.op, Op::Recvfrom { .. });
            let (call, data, peer) = if in_thread {
                (
                    joined("result"),
                    joined("buf"),
                    format!("&{}", joined("addr")),
                )
            } else {
                uses.locals.insert("buf");
                uses.buf = uses.buf.max(*max);
                if from {
                    uses.locals.insert("peer");
                    w.line("    peer_len = sizeof peer;");
                    (
                        format!(
                            "recvfrom({}, buf, {max}, 0, (struct sockaddr *)&peer, &peer_len)",
                            var(*socket)
                        ),
                        "buf".into(),
                        "&peer".into(),
                    )
                } else {
                    (
                        format!("recv({}, buf, {max}, 0)", var(*socket)),
                        "buf".into(),
                        String::new(),
                    )
                }
            };
            w.line(&format!("    n = {call};"));
            let mut then = vec![format!("print_bytes(\"{syscall}\", {data}, n);")];
            if from {
                uses.helpers.insert("print_address");
                then.push(format!("print_address(\" from \", {peer});"));
            } else {
                then.push("printf(\"\\n\");".into());
            }
            check(w, uses, "n", &then);
        }
        Op::Shutdown { socket, how } => {
            let how = match how {
                Shutdown::Read => "SHUT_RD",
                Shutdown::Write => "SHUT_WR",
                Shutdown::Both => "SHUT_RDWR",
            };
            check(
                w,
                uses,
                &format!("shutdown({}, {how})", var(*socket)),
                &["printf(\"shutdown: ok\\n\");".into()],
            );
        }
        Op::Close { socket } => check(
            w,
            uses,
            &format!("close({})", var(*socket)),
            &["printf(\"close: ok\\n\");".into()],
        ),
        Op::Getsockname { socket } => {
            uses.helpers.insert("print_local");
            w.line(&format!(
                "    print_local(\"getsockname: \", {});",
                var(*socket)
            ));
        }
        Op::Getpeername { socket } => {
            uses.helpers.insert("print_peer");
            w.line(&format!(
                "    print_peer(\"getpeername: \", {});",
                var(*socket)
            ));
        }
    }
}

/// A started call: its `struct waiting` and thread.
fn start(w: &mut Writer, uses: &mut Uses, plan: &Plan, step: &Step, n: usize) {
    let syscall = step.op.syscall().to_string();
    let thread = format!("{syscall}_{n}");
    let Some(socket) = step.op.socket() else {
        return;
    };
    w.line(&format!(
        "    /* {syscall} waits in the kernel while the program goes on: a thread */"
    ));
    w.line(&format!("    static struct waiting {thread};"));
    w.line(&format!("    {thread}.fd = {};", plan.var(socket)));
    match &step.op {
        Op::Connect { .. } | Op::Sendto { .. } => {
            fill_address(w, uses, plan, &step.op, "addr");
            w.line(&format!("    {thread}.addr = addr;"));
            w.line(&format!("    {thread}.addr_len = addr_len;"));
        }
        _ => {}
    }
    match &step.op {
        Op::Send { data, .. } | Op::Sendto { data, .. } => {
            w.line(&format!(
                "    {thread}.data = {};",
                string_literal(data.as_bytes())
            ));
            w.line(&format!("    {thread}.len = {};", data.len()));
        }
        Op::Recv { max, .. } | Op::Recvfrom { max, .. } => {
            w.line(&format!("    {thread}.len = {};", (*max).min(65536)));
        }
        _ => {}
    }
    let function = format!("wait_{syscall}");
    uses.helpers.insert(match syscall.as_str() {
        "accept" => "wait_accept",
        "connect" => "wait_connect",
        "send" => "wait_send",
        "sendto" => "wait_sendto",
        "recv" => "wait_recv",
        _ => "wait_recvfrom",
    });
    uses.helpers.insert("die");
    w.line(&format!(
        "    if (pthread_create(&{thread}.thread, NULL, {function}, &{thread}) != 0)"
    ));
    w.line("        die(\"pthread_create\");");
}

/// `addr_len = make_address(&addr, "127.0.0.1", 8080);` for the address of `op` (a bind,
/// connect or sendto), with a kernel-chosen port read back or a lesson service's constant.
fn fill_address(w: &mut Writer, uses: &mut Uses, plan: &Plan, op: &Op, into: &'static str) {
    let Some((socket, text)) = op_address(op) else {
        return;
    };
    uses.locals.insert(into);
    uses.helpers.insert("make_address");
    match plan.address(socket, text) {
        Some(Address { ip, port, .. }) => {
            let (port, note) = match port {
                Port::Typed(0) => ("0".to_owned(), " /* port 0: the kernel chooses */"),
                Port::Typed(port) => (port.to_string(), ""),
                Port::ChosenFor(other) => (
                    format!("{}_port", plan.var(other)),
                    " /* the port the kernel chose for it */",
                ),
                Port::Service(_) => (plan.port_text(port), ""),
                Port::Argument(_) => (
                    plan.port_text(port),
                    " /* the server's port, from the command line */",
                ),
            };
            w.line(&format!(
                "    {into}_len = make_address(&{into}, \"{ip}\", {port});{note}"
            ));
        }
        None => w.line(&format!("    /* {text:?} is not an address */")),
    }
}

/// After the step that chose a port a later call uses: keep it (`int listener_port = ...`).
fn keep_port(uses: &mut Uses, plan: &Plan, step: &Step, then: &mut Vec<String>) {
    if let Some(socket) = step.keeps_port {
        uses.helpers.insert("port_of");
        uses.helpers.insert("die");
        let var = plan.var(socket);
        then.push(format!("{var}_port = port_of({var});"));
        uses.ports.insert(format!("{var}_port"));
    }
}

fn family_name(family: Family) -> &'static str {
    match family {
        Family::Ipv4 => "AF_INET",
        Family::Ipv6 => "AF_INET6",
    }
}

/// The call as the comment above it says it (`bind(listener, 127.0.0.1:0)`).
fn describe(plan: &Plan, op: &Op) -> String {
    let var = |socket: SocketId| plan.var(socket).to_owned();
    match op {
        Op::Socket { family, kind } => format!(
            "socket({}, {})",
            family_name(*family),
            match kind {
                SocketType::Stream => "SOCK_STREAM",
                SocketType::Datagram => "SOCK_DGRAM",
            }
        ),
        Op::Setsockopt {
            socket,
            option,
            value,
        } => format!("setsockopt({}, {}, {value})", var(*socket), option.c_name()),
        Op::Getsockopt { socket, option } => {
            format!("getsockopt({}, {})", var(*socket), option.c_name())
        }
        Op::Bind { socket, address } => format!("bind({}, {address})", var(*socket)),
        Op::Listen { socket, backlog } => format!("listen({}, {backlog})", var(*socket)),
        Op::Accept { socket } => format!("accept({})", var(*socket)),
        Op::Connect { socket, address } => format!("connect({}, {address})", var(*socket)),
        Op::Send { socket, data } => format!("send({}, {} bytes)", var(*socket), data.len()),
        Op::Recv { socket, max } => format!("recv({}, at most {max} bytes)", var(*socket)),
        Op::Sendto {
            socket,
            data,
            address,
        } => format!("sendto({}, {} bytes, {address})", var(*socket), data.len()),
        Op::Recvfrom { socket, max } => {
            format!("recvfrom({}, at most {max} bytes)", var(*socket))
        }
        Op::Shutdown { socket, how } => format!("shutdown({}, {how:?})", var(*socket)),
        Op::Close { socket } => format!("close({})", var(*socket)),
        Op::Getsockname { socket } => format!("getsockname({})", var(*socket)),
        Op::Getpeername { socket } => format!("getpeername({})", var(*socket)),
    }
}

/// A C string literal of the bytes: printable ASCII as is, the rest as octal escapes (which,
/// unlike `\x`, never swallow the digits after them).
fn string_literal(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'?' => out.push_str("\\?"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\{b:03o}")),
        }
    }
    out.push('"');
    out
}
