//! One program of the Code view: its file name, Copy and Download, and its lines, each line of
//! a call carrying the call's id so that hovering it lights the call's log entries (and the
//! line is lit when the call is, `lit`).

use socketlab_shared::CallId;
use socketlab_shared::program::Program;
use yew::prelude::*;

use crate::ui::download::data_url;

#[derive(Properties, PartialEq)]
pub(crate) struct CodeListingProps {
    pub(crate) program: Program,
    /// The file it is saved as (`session.c`, `server.py`).
    pub(crate) file: AttrValue,
    /// Appended to the test ids (`code-text-server`); empty for the one program.
    #[prop_or_default]
    pub(crate) part: AttrValue,
    /// Shown above it (`server.c`), for one of two programs.
    #[prop_or_default]
    pub(crate) title: Option<AttrValue>,
    pub(crate) lit: Option<CallId>,
    pub(crate) on_hover: Option<Callback<Option<CallId>>>,
}

#[component]
pub(crate) fn CodeListing(props: &CodeListingProps) -> Html {
    let copied = use_state(|| None::<String>);
    let text = props.program.text();
    let testid = |name: &str| {
        if props.part.is_empty() {
            name.to_owned()
        } else {
            format!("{name}-{}", props.part)
        }
    };
    let on_copy = {
        let text = text.clone();
        let copied = copied.clone();
        Callback::from(move |_| {
            if let Some(window) = web_sys::window() {
                // A promise; a refused copy (no permission) leaves the button as it was.
                let _ = window.navigator().clipboard().write_text(&text);
                copied.set(Some(text.clone()));
            }
        })
    };
    // "Copied" only while the text is the one copied.
    let is_copied = copied.as_deref() == Some(text.as_str());
    let lines = props.program.lines.iter().map(|line| {
        let lit = line.call.is_some() && line.call == props.lit;
        let hover = props.on_hover.as_ref().zip(line.call);
        let enter = hover.map(|(on_hover, id)| {
            let on_hover = on_hover.clone();
            Callback::from(move |_| on_hover.emit(Some(id)))
        });
        let leave = hover.map(|(on_hover, _)| {
            let on_hover = on_hover.clone();
            Callback::from(move |_| on_hover.emit(None))
        });
        let call = line.call.map(|id| id.0.to_string());
        html! {
            <span class={classes!("code-line", line.call.is_some().then_some("of-call"), lit.then_some("lit"))}
                data-call={call} onmouseenter={enter} onmouseleave={leave}>
                { format!("{}\n", line.text) }
            </span>
        }
    });
    html! {
        <div class="code-listing">
            <div class="code-file">
                if let Some(title) = &props.title {
                    <h3>{ title.clone() }</h3>
                }
                <button type="button" class="code-copy" data-testid={testid("code-copy")} onclick={on_copy}>
                    { if is_copied { "Copied" } else { "Copy" } }
                </button>
                <a class="code-download" data-testid={testid("code-download")} href={data_url(&text)}
                    download={props.file.clone()}>{ format!("Download {}", props.file) }</a>
            </div>
            <pre class="code" data-testid={testid("code-text")}><code>{ for lines }</code></pre>
        </div>
    }
}
