//! One program of the Code view: its file name, Copy and Download, and its lines, each line of
//! a call carrying the call's id so that hovering it lights the call's log entries (and the
//! line is lit when the call is, `lit`).

use socketlab_shared::CallId;
use socketlab_shared::program::Program;
use yew::prelude::*;

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

/// A `data:` URL of the text, for the Download link: every byte but the unreserved ones of
/// RFC 3986 percent-encoded (what `encodeURIComponent` does, without asking the browser).
pub(crate) fn data_url(text: &str) -> String {
    let mut url = String::from("data:text/plain;charset=utf-8,");
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            url.push(char::from(byte));
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_download_link_carries_the_program_byte_for_byte() {
        assert_eq!(
            data_url("a b\n\"é\""),
            "data:text/plain;charset=utf-8,a%20b%0A%22%C3%A9%22"
        );
    }
}
