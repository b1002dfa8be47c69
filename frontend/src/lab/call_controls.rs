//! The call controls of one socket: a row per syscall with its button, a small form with defaults
//! (address, backlog, data, max...) and the last result of that call under it. A button is enabled
//! by `SocketState::allows`, or by the card's "show every call" toggle; nothing is blocked beyond
//! that, because the kernel's refusal is the lesson. Inputs live here; pressing a button turns them
//! into an `Op`.

use std::collections::BTreeMap;
use std::rc::Rc;

use socketlab_shared::{Family, Op, Path, Shutdown, SockOpt, SocketState, SocketType, Syscall};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::lab::typed_bytes::{self, Encoding};
use crate::session::SocketView;
use crate::session::narration;

/// One input of the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Field {
    BindAddress,
    Backlog,
    ConnectAddress,
    Data,
    Encoding,
    RecvMax,
    SendtoData,
    SendtoEncoding,
    SendtoAddress,
    RecvfromMax,
    How,
    SetOption,
    SetValue,
    GetOption,
}

/// What the learner typed; a field not typed in yet shows its default.
#[derive(Debug, Clone, PartialEq, Default)]
struct Form {
    typed: BTreeMap<Field, String>,
}

impl Reducible for Form {
    type Action = (Field, String);
    fn reduce(self: Rc<Self>, (field, value): (Field, String)) -> Rc<Self> {
        let mut next = (*self).clone();
        next.typed.insert(field, value);
        Rc::new(next)
    }
}

#[derive(Properties, PartialEq)]
pub(crate) struct CallControlsProps {
    pub(crate) socket: SocketView,
    pub(crate) pending: Vec<Syscall>,
    pub(crate) suggested_peer: Option<String>,
    pub(crate) live: bool,
    pub(crate) show_all: bool,
    pub(crate) on_call: Callback<Op>,
    /// The call the lesson's current step names on this card: its button is outlined.
    #[prop_or_default]
    pub(crate) lit: Option<Syscall>,
}

/// The order of the rows: the socket's own path first, then the rest.
fn row_order(path: Path) -> [Syscall; 9] {
    use Syscall as C;
    match path {
        Path::Server => [
            C::Bind,
            C::Listen,
            C::Accept,
            C::Recv,
            C::Send,
            C::Connect,
            C::Shutdown,
            C::Sendto,
            C::Recvfrom,
        ],
        Path::Client => [
            C::Connect,
            C::Send,
            C::Recv,
            C::Shutdown,
            C::Bind,
            C::Listen,
            C::Accept,
            C::Sendto,
            C::Recvfrom,
        ],
        Path::Datagram => [
            C::Bind,
            C::Sendto,
            C::Recvfrom,
            C::Connect,
            C::Send,
            C::Recv,
            C::Listen,
            C::Accept,
            C::Shutdown,
        ],
        Path::Accepted => [
            C::Recv,
            C::Send,
            C::Shutdown,
            C::Bind,
            C::Listen,
            C::Accept,
            C::Connect,
            C::Sendto,
            C::Recvfrom,
        ],
    }
}

/// Calls shown on every socket, below the main ones.
const ASK: [Syscall; 4] = [
    Syscall::Getsockname,
    Syscall::Getpeername,
    Syscall::Setsockopt,
    Syscall::Getsockopt,
];

/// Whether a row belongs on this socket without "show every call": its path uses it, its state
/// allows it now, or it was used already (its result stays in view). Calls that belong to another
/// role (listen on a client, send on a listener) wait behind the toggle.
fn shown(path: Path, socket: &SocketView, call: Syscall) -> bool {
    use Syscall as C;
    if socket.results.contains_key(&call) {
        return true;
    }
    let on_path = path.steps().iter().any(|s| s.calls.contains(&call));
    match (path, call) {
        (Path::Server, C::Send | C::Recv) if socket.state == SocketState::Listening => false,
        (Path::Server, C::Connect | C::Shutdown) => false,
        (Path::Client, C::Listen | C::Accept) => false,
        (Path::Accepted, C::Accept) => false,
        _ => on_path || socket.state.allows(socket.kind, call),
    }
}

/// What the kernel already has for this call, from the events: "6 bytes waiting".
fn ready_tag(socket: &SocketView, call: Syscall) -> Option<String> {
    match call {
        Syscall::Recv | Syscall::Recvfrom => socket
            .data_waiting
            .map(|n| format!("{n} byte{} waiting", if n == 1 { "" } else { "s" })),
        Syscall::Accept if socket.connection_waiting => Some("a client is waiting".into()),
        _ => None,
    }
}

/// The call the path suggests next, highlighted.
fn next_call(path: Path, state: SocketState) -> Option<Syscall> {
    match (path, state) {
        (Path::Server, SocketState::Fresh) | (Path::Datagram, SocketState::Fresh) => {
            Some(Syscall::Bind)
        }
        (Path::Server, SocketState::Bound) => Some(Syscall::Listen),
        (Path::Server, SocketState::Listening) => Some(Syscall::Accept),
        (Path::Client, SocketState::Fresh) => Some(Syscall::Connect),
        _ => None,
    }
}

fn default_address(family: Family) -> &'static str {
    match family {
        Family::Ipv4 => "127.0.0.1:0",
        Family::Ipv6 => "[::1]:0",
    }
}

fn option_by_name(name: &str) -> SockOpt {
    SockOpt::ALL
        .into_iter()
        .find(|o| o.c_name() == name)
        .unwrap_or(SockOpt::SoReuseaddr)
}

#[component]
pub(crate) fn CallControls(props: &CallControlsProps) -> Html {
    let form = use_reducer(Form::default);
    let problem = use_state(|| None::<(Syscall, String)>);
    let s = &props.socket;
    let path = s.path();
    let peer_hint = props.suggested_peer.clone().unwrap_or_default();

    let value = |field: Field| -> String {
        if let Some(typed) = form.typed.get(&field) {
            return typed.clone();
        }
        match field {
            Field::BindAddress => default_address(s.family).into(),
            Field::Backlog => "16".into(),
            Field::ConnectAddress | Field::SendtoAddress => peer_hint.clone(),
            Field::Data => "hello\\n".into(),
            Field::SendtoData => "ping".into(),
            Field::Encoding | Field::SendtoEncoding => "text".into(),
            Field::RecvMax | Field::RecvfromMax => "4096".into(),
            Field::How => "write".into(),
            Field::SetOption | Field::GetOption => "SO_REUSEADDR".into(),
            Field::SetValue => "1".into(),
        }
    };

    // Turns the form into the call's arguments, or says which field is wrong.
    let build = |call: Syscall| -> Result<Op, String> {
        let socket = s.id;
        let number = |field: Field, what: &str| {
            value(field)
                .trim()
                .parse::<u32>()
                .map_err(|_| format!("{what} must be a whole number"))
        };
        let address = |field: Field| {
            let a = value(field).trim().to_owned();
            if a.is_empty() {
                Err("type an address with a port, such as 127.0.0.1:41234".to_owned())
            } else {
                Ok(a)
            }
        };
        let data = |field: Field, enc: Field| {
            typed_bytes::parse(&value(field), Encoding::from_name(&value(enc)))
        };
        Ok(match call {
            Syscall::Socket => return Err("use the socket() button of the panel".into()),
            Syscall::Bind => Op::Bind {
                socket,
                address: address(Field::BindAddress)?,
            },
            Syscall::Listen => Op::Listen {
                socket,
                backlog: value(Field::Backlog)
                    .trim()
                    .parse::<i32>()
                    .map_err(|_| "backlog must be a whole number".to_owned())?,
            },
            Syscall::Accept => Op::Accept { socket },
            Syscall::Connect => Op::Connect {
                socket,
                address: address(Field::ConnectAddress)?,
            },
            Syscall::Send => Op::Send {
                socket,
                data: data(Field::Data, Field::Encoding)?,
            },
            Syscall::Recv => Op::Recv {
                socket,
                max: number(Field::RecvMax, "max")?,
            },
            Syscall::Sendto => Op::Sendto {
                socket,
                data: data(Field::SendtoData, Field::SendtoEncoding)?,
                address: address(Field::SendtoAddress)?,
            },
            Syscall::Recvfrom => Op::Recvfrom {
                socket,
                max: number(Field::RecvfromMax, "max")?,
            },
            Syscall::Shutdown => Op::Shutdown {
                socket,
                how: match value(Field::How).as_str() {
                    "read" => Shutdown::Read,
                    "both" => Shutdown::Both,
                    _ => Shutdown::Write,
                },
            },
            Syscall::Close => Op::Close { socket },
            Syscall::Setsockopt => Op::Setsockopt {
                socket,
                option: option_by_name(&value(Field::SetOption)),
                value: value(Field::SetValue)
                    .trim()
                    .parse::<i32>()
                    .map_err(|_| "the value must be a whole number".to_owned())?,
            },
            Syscall::Getsockopt => Op::Getsockopt {
                socket,
                option: option_by_name(&value(Field::GetOption)),
            },
            Syscall::Getsockname => Op::Getsockname { socket },
            Syscall::Getpeername => Op::Getpeername { socket },
        })
    };

    let input = |field: Field,
                 arg: &'static str,
                 label: &'static str,
                 placeholder: &'static str,
                 width: &'static str| {
        let form = form.clone();
        let oninput = Callback::from(move |e: InputEvent| {
            if let Some(el) = e.target_dyn_into::<HtmlInputElement>() {
                form.dispatch((field, el.value()));
            }
        });
        html! {
            <input type="text" class={width} data-arg={arg} aria-label={label} title={label}
                placeholder={placeholder} value={value(field)} oninput={oninput} />
        }
    };
    let select =
        |field: Field, arg: &'static str, label: &'static str, options: Vec<(String, String)>| {
            let form = form.clone();
            let current = value(field);
            let onchange = Callback::from(move |e: Event| {
                if let Some(el) = e.target_dyn_into::<HtmlSelectElement>() {
                    form.dispatch((field, el.value()));
                }
            });
            html! {
                <select data-arg={arg} aria-label={label} title={label} onchange={onchange}>
                    { for options.into_iter().map(|(v, text)| html! {
                        <option value={v.clone()} selected={v == current}>{ text }</option>
                    }) }
                </select>
            }
        };
    let encodings = || {
        vec![
            ("text".to_owned(), "text".to_owned()),
            ("hex".to_owned(), "hex".to_owned()),
        ]
    };
    let options = || {
        SockOpt::ALL
            .iter()
            .map(|o| {
                (
                    o.c_name().to_owned(),
                    format!("{} ({})", o.c_name(), o.level()),
                )
            })
            .collect::<Vec<_>>()
    };

    let args = |call: Syscall| -> Html {
        match call {
            Syscall::Bind => input(
                Field::BindAddress,
                "address",
                "address to bind (IP:port; port 0 = kernel picks)",
                "127.0.0.1:0",
                "addr",
            ),
            Syscall::Listen => {
                html! { <>{ "backlog " }{ input(Field::Backlog, "backlog", "backlog: how many finished handshakes may queue", "16", "num") }</> }
            }
            Syscall::Connect => input(
                Field::ConnectAddress,
                "address",
                "address to connect to",
                "127.0.0.1:PORT",
                "addr",
            ),
            Syscall::Send => html! { <>
                { input(Field::Data, "data", "bytes to send (text: \\n \\r \\t \\xNN escapes work)", "hello\\n", "data") }
                { select(Field::Encoding, "encoding", "read the data as text or as hex", encodings()) }
            </> },
            Syscall::Recv => {
                html! { <>{ "max " }{ input(Field::RecvMax, "max", "the most bytes to read", "4096", "num") }</> }
            }
            Syscall::Sendto => html! { <>
                { input(Field::SendtoData, "data", "bytes of the datagram", "ping", "data") }
                { select(Field::SendtoEncoding, "encoding", "read the data as text or as hex", encodings()) }
                { " to " }
                { input(Field::SendtoAddress, "address", "where to send the datagram", "127.0.0.1:PORT", "addr") }
            </> },
            Syscall::Recvfrom => {
                html! { <>{ "max " }{ input(Field::RecvfromMax, "max", "the most bytes to read", "4096", "num") }</> }
            }
            Syscall::Shutdown => select(
                Field::How,
                "how",
                "which direction to close",
                vec![
                    ("write".into(), "SHUT_WR (send a FIN)".into()),
                    ("read".into(), "SHUT_RD".into()),
                    ("both".into(), "SHUT_RDWR".into()),
                ],
            ),
            Syscall::Setsockopt => html! { <>
                { select(Field::SetOption, "option", "the option to set", options()) }
                { " = " }
                { input(Field::SetValue, "value", "the value: 0 or 1 for flags, bytes for buffers", "1", "num") }
            </> },
            Syscall::Getsockopt => {
                select(Field::GetOption, "option", "the option to read", options())
            }
            _ => Html::default(),
        }
    };

    let next = next_call(path, s.state);
    let row = |call: Syscall| -> Html {
        let waiting = props.pending.contains(&call);
        let usual = s.state.allows(s.kind, call);
        let enabled = props.live && !waiting && (usual || props.show_all);
        let onclick = {
            let (build_result, on_call, problem) =
                (build(call), props.on_call.clone(), problem.clone());
            Callback::from(move |_: MouseEvent| match &build_result {
                Ok(op) => {
                    problem.set(None);
                    on_call.emit(op.clone());
                }
                Err(why) => problem.set(Some((call, why.clone()))),
            })
        };
        let title = if usual || props.show_all {
            narration::purpose(call).to_owned()
        } else {
            format!(
                "{} Not a usual call for a {} socket; tick \"show every call\" to make it anyway and see what the kernel says.",
                narration::purpose(call),
                s.state.label()
            )
        };
        let result = s.results.get(&call);
        let problem_here = problem
            .as_ref()
            .filter(|(c, _)| *c == call)
            .map(|(_, why)| why.clone());
        html! {
            <div class={classes!("call", (!usual).then_some("odd"), waiting.then_some("waiting"))} data-for={call.name()}>
                <button data-call={call.name()} class={classes!((next == Some(call) && !waiting).then_some("next"), (props.lit == Some(call)).then_some("step-target"))}
                    disabled={!enabled} title={title} onclick={onclick}>
                    { format!("{call}()") }
                </button>
                <span class="args">
                    { args(call) }
                    if let Some(tag) = ready_tag(s, call) {
                        <span class="ready" title="an event from the relay: this call would return at once">{ tag }</span>
                    }
                </span>
                if waiting {
                    <div class="result waiting-text">{ narration::waiting(call) }{ "…" }</div>
                } else if let Some(why) = problem_here {
                    <div class="result err">{ why }</div>
                } else if let Some(r) = result {
                    <div class={classes!("result", if r.ok { "ok" } else { "err" })}>{ r.text.clone() }</div>
                }
            </div>
        }
    };

    let main_rows = row_order(path)
        .into_iter()
        .filter(|c| props.show_all || shown(path, s, *c))
        .filter(|c| {
            props.show_all
                || s.kind == SocketType::Stream
                || !matches!(c, Syscall::Listen | Syscall::Accept | Syscall::Shutdown)
        });
    html! {
        <div class="calls">
            { for main_rows.map(row) }
            { row(Syscall::Close) }
            <details class="ask" open={props.show_all || props.lit.is_some_and(|c| ASK.contains(&c))}>
                <summary>{ "Ask the kernel: getsockname(), getpeername(), socket options" }</summary>
                { for ASK.into_iter().map(row) }
            </details>
        </div>
    }
}
