//! Named styles for every role the dashboard draws, in three palettes: [`Theme::dark`],
//! [`Theme::light`] and [`Theme::mono`] (no colour at all, what `NO_COLOR` asks for).
//! [`Theme::pick`] chooses one from the user's choice and the environment values, passed in
//! so the choice is a pure function.

use std::ffi::OsStr;

use ratatui::style::{Color, Modifier, Style};

use crate::engine::Severity;

/// Every style the dashboard uses, by role. Render code asks for a role, never a colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    /// The title line at the top of the screen.
    pub title: Style,
    /// Column headers of the tables and the flow ladder.
    pub table_header: Style,
    /// The row under the cursor.
    pub selected: Style,
    /// Rows marked with space (e.g. the two messages to diff).
    pub selected_mark: Style,
    /// The footer line (keys of the current view).
    pub footer: Style,
    /// A key name inside the footer.
    pub footer_key: Style,
    /// De-emphasised text (gutters, line numbers, filler).
    pub dim: Style,
    /// Ordinary text.
    pub text: Style,
    /// The arrow and method of a request.
    pub request: Style,
    /// A 1xx or 2xx response.
    pub response_ok: Style,
    /// A 3xx–6xx response.
    pub response_err: Style,
    /// A retransmitted or duplicate message.
    pub retransmission: Style,
    /// SDP summaries.
    pub sdp: Style,
    /// Error messages of the dashboard itself.
    pub error: Style,
    /// The help overlay's text.
    pub help: Style,
    /// [`Severity::Info`] findings.
    pub sev_info: Style,
    /// [`Severity::Low`] findings.
    pub sev_low: Style,
    /// [`Severity::Medium`] findings.
    pub sev_medium: Style,
    /// [`Severity::High`] findings.
    pub sev_high: Style,
    /// [`Severity::Critical`] findings.
    pub sev_critical: Style,
    /// The request line or status line of a SIP message (RFC 3261 §7.1, §7.2).
    pub start_line: Style,
    /// A header name and its colon (RFC 3261 §7.3).
    pub header_name: Style,
    /// A header value, and the value part of SDP lines.
    pub header_value: Style,
    /// The `x=` type of an SDP line (RFC 8866 §5).
    pub sdp_type: Style,
    /// The `name:` of an SDP `a=` attribute (RFC 8866 §5.13).
    pub sdp_attr: Style,
    /// A line only in the right-hand message of a diff.
    pub diff_added: Style,
    /// A line only in the left-hand message of a diff.
    pub diff_removed: Style,
    /// A line that differs between the two messages of a diff.
    pub diff_changed: Style,
}

/// Which palette the user asked for (`--theme`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ThemeChoice {
    /// Colours for a dark terminal background.
    Dark,
    /// Colours for a light terminal background.
    Light,
    /// Dark unless `COLORFGBG` says the background is light.
    #[default]
    Auto,
}

impl ThemeChoice {
    /// Parses `dark`, `light` or `auto` (ASCII case-insensitive); `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        [
            ("dark", Self::Dark),
            ("light", Self::Light),
            ("auto", Self::Auto),
        ]
        .into_iter()
        .find(|(name, _)| s.eq_ignore_ascii_case(name))
        .map(|(_, c)| c)
    }
}

impl Default for Theme {
    fn default() -> Self {
        Self::dark()
    }
}

const fn fg(c: Color) -> Style {
    Style::new().fg(c)
}

const fn m(modifier: Modifier) -> Style {
    Style::new().add_modifier(modifier)
}

const BOLD: Modifier = Modifier::BOLD;

impl Theme {
    /// Colours for a dark background; the dashboard's historical look.
    pub const fn dark() -> Self {
        Self {
            title: m(BOLD),
            table_header: m(BOLD),
            selected: m(Modifier::REVERSED),
            selected_mark: fg(Color::LightMagenta).add_modifier(BOLD),
            footer: Style::new().fg(Color::Black).bg(Color::Cyan),
            footer_key: Style::new()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(BOLD),
            dim: fg(Color::DarkGray),
            text: Style::new(),
            request: fg(Color::Cyan),
            response_ok: fg(Color::Green),
            response_err: fg(Color::LightRed),
            retransmission: fg(Color::DarkGray),
            sdp: fg(Color::Magenta),
            error: fg(Color::Red).add_modifier(BOLD),
            help: fg(Color::Yellow),
            sev_info: fg(Color::Gray),
            sev_low: fg(Color::Cyan),
            sev_medium: fg(Color::Yellow),
            sev_high: fg(Color::LightRed),
            sev_critical: fg(Color::Red).add_modifier(BOLD),
            start_line: m(BOLD),
            header_name: fg(Color::LightBlue),
            header_value: Style::new(),
            sdp_type: fg(Color::Yellow),
            sdp_attr: fg(Color::LightMagenta),
            diff_added: fg(Color::Green),
            diff_removed: fg(Color::Red),
            diff_changed: fg(Color::Yellow),
        }
    }

    /// Colours readable on a white background: no yellow, light cyan or light grey text;
    /// the darker ANSI colours instead.
    pub const fn light() -> Self {
        Self {
            title: m(BOLD),
            table_header: m(BOLD),
            selected: m(Modifier::REVERSED),
            selected_mark: fg(Color::Magenta).add_modifier(BOLD),
            footer: Style::new().fg(Color::White).bg(Color::Blue),
            footer_key: Style::new()
                .fg(Color::White)
                .bg(Color::Blue)
                .add_modifier(BOLD),
            dim: fg(Color::DarkGray),
            text: Style::new(),
            request: fg(Color::Blue),
            response_ok: fg(Color::Green),
            response_err: fg(Color::Red),
            retransmission: fg(Color::DarkGray),
            sdp: fg(Color::Magenta),
            error: fg(Color::Red).add_modifier(BOLD),
            help: fg(Color::Blue),
            sev_info: fg(Color::DarkGray),
            sev_low: fg(Color::Blue),
            sev_medium: fg(Color::Magenta),
            sev_high: fg(Color::Red),
            sev_critical: fg(Color::Red)
                .add_modifier(BOLD)
                .add_modifier(Modifier::REVERSED),
            start_line: m(BOLD),
            header_name: fg(Color::Blue),
            header_value: Style::new(),
            sdp_type: fg(Color::Magenta),
            sdp_attr: fg(Color::Red),
            diff_added: fg(Color::Green),
            diff_removed: fg(Color::Red),
            diff_changed: fg(Color::Blue),
        }
    }

    /// No colour at all, only bold, reversed, underline and dim: what `NO_COLOR` asks for
    /// (<https://no-color.org>), and what a monochrome terminal can show.
    pub const fn mono() -> Self {
        Self {
            title: m(BOLD),
            table_header: m(BOLD).add_modifier(Modifier::UNDERLINED),
            selected: m(Modifier::REVERSED),
            selected_mark: m(BOLD).add_modifier(Modifier::UNDERLINED),
            footer: m(Modifier::REVERSED),
            footer_key: m(Modifier::REVERSED).add_modifier(BOLD),
            dim: m(Modifier::DIM),
            text: Style::new(),
            request: m(BOLD),
            response_ok: Style::new(),
            response_err: m(Modifier::UNDERLINED),
            retransmission: m(Modifier::DIM),
            sdp: Style::new(),
            error: m(BOLD).add_modifier(Modifier::UNDERLINED),
            help: Style::new(),
            sev_info: m(Modifier::DIM),
            sev_low: Style::new(),
            sev_medium: m(Modifier::UNDERLINED),
            sev_high: m(BOLD),
            sev_critical: m(BOLD).add_modifier(Modifier::REVERSED),
            start_line: m(BOLD).add_modifier(Modifier::UNDERLINED),
            header_name: m(BOLD),
            header_value: Style::new(),
            sdp_type: m(BOLD),
            sdp_attr: m(Modifier::UNDERLINED),
            diff_added: m(BOLD),
            diff_removed: m(Modifier::DIM),
            diff_changed: m(Modifier::UNDERLINED),
        }
    }

    /// The style of a finding's severity.
    pub fn severity(&self, s: Severity) -> Style {
        match s {
            Severity::Info => self.sev_info,
            Severity::Low => self.sev_low,
            Severity::Medium => self.sev_medium,
            Severity::High => self.sev_high,
            Severity::Critical => self.sev_critical,
        }
    }

    /// The style of a response by its status code: [`Theme::response_ok`] for 1xx and 2xx,
    /// [`Theme::response_err`] for everything else (3xx–6xx, and out-of-range codes).
    pub fn status(&self, code: u16) -> Style {
        if (100..300).contains(&code) {
            self.response_ok
        } else {
            self.response_err
        }
    }

    /// Chooses the palette. `no_color` is the value of `NO_COLOR` and `colorfgbg` the value
    /// of `COLORFGBG` (`None` when unset). Following <https://no-color.org>, `NO_COLOR`
    /// present *and non-empty* gives [`Theme::mono`] whatever the choice; an empty value
    /// is ignored.
    pub fn pick(choice: ThemeChoice, no_color: Option<&OsStr>, colorfgbg: Option<&OsStr>) -> Self {
        if no_color.is_some_and(|v| !v.is_empty()) {
            return Self::mono();
        }
        match choice {
            ThemeChoice::Dark => Self::dark(),
            ThemeChoice::Light => Self::light(),
            ThemeChoice::Auto if colorfgbg.is_some_and(light_background) => Self::light(),
            ThemeChoice::Auto => Self::dark(),
        }
    }

    /// [`Theme::pick`] with this process's `NO_COLOR` and `COLORFGBG`.
    pub fn from_env(choice: ThemeChoice) -> Self {
        Self::pick(
            choice,
            std::env::var_os("NO_COLOR").as_deref(),
            std::env::var_os("COLORFGBG").as_deref(),
        )
    }

    /// Every role with its name, for tests and for a theme preview.
    pub fn roles(&self) -> [(&'static str, Style); 28] {
        [
            ("title", self.title),
            ("table_header", self.table_header),
            ("selected", self.selected),
            ("selected_mark", self.selected_mark),
            ("footer", self.footer),
            ("footer_key", self.footer_key),
            ("dim", self.dim),
            ("text", self.text),
            ("request", self.request),
            ("response_ok", self.response_ok),
            ("response_err", self.response_err),
            ("retransmission", self.retransmission),
            ("sdp", self.sdp),
            ("error", self.error),
            ("help", self.help),
            ("sev_info", self.sev_info),
            ("sev_low", self.sev_low),
            ("sev_medium", self.sev_medium),
            ("sev_high", self.sev_high),
            ("sev_critical", self.sev_critical),
            ("start_line", self.start_line),
            ("header_name", self.header_name),
            ("header_value", self.header_value),
            ("sdp_type", self.sdp_type),
            ("sdp_attr", self.sdp_attr),
            ("diff_added", self.diff_added),
            ("diff_removed", self.diff_removed),
            ("diff_changed", self.diff_changed),
        ]
    }
}

/// `COLORFGBG` (set by rxvt, Konsole, some xterms) is `fg;bg` or `fg;default;bg` with ANSI
/// colour numbers; the last field is the background. Like vim, 7 (light grey) and 9–15
/// (the bright colours, 15 = white) mean a light background, anything else dark.
fn light_background(v: &OsStr) -> bool {
    let Some(v) = v.to_str() else {
        return false;
    };
    match v.rsplit(';').next().map(str::trim).map(str::parse::<u8>) {
        Some(Ok(bg)) => bg == 7 || (9..=15).contains(&bg),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(s: &str) -> Option<&OsStr> {
        Some(OsStr::new(s))
    }

    #[test]
    fn mono_has_no_colour_in_any_role() {
        for (name, s) in Theme::mono().roles() {
            assert_eq!(s.fg, None, "{name} fg");
            assert_eq!(s.bg, None, "{name} bg");
        }
    }

    #[test]
    fn mono_keeps_selection_and_severities_distinguishable() {
        let t = Theme::mono();
        assert_ne!(t.selected, t.text);
        assert_ne!(t.footer, t.text);
        let sev = [
            Severity::Info,
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ];
        for (i, a) in sev.iter().enumerate() {
            for b in sev.iter().skip(i + 1) {
                assert_ne!(t.severity(*a), t.severity(*b), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn non_empty_no_color_wins_over_any_choice() {
        for c in [ThemeChoice::Dark, ThemeChoice::Light, ThemeChoice::Auto] {
            assert_eq!(Theme::pick(c, os("1"), None), Theme::mono());
            assert_eq!(Theme::pick(c, os("0"), os("0;15")), Theme::mono());
        }
    }

    #[test]
    fn empty_no_color_does_not_disable_colour() {
        assert_eq!(Theme::pick(ThemeChoice::Dark, os(""), None), Theme::dark());
        assert_eq!(
            Theme::pick(ThemeChoice::Light, os(""), None),
            Theme::light()
        );
        assert_eq!(Theme::pick(ThemeChoice::Auto, os(""), None), Theme::dark());
    }

    #[test]
    fn light_differs_from_dark_and_avoids_pale_text() {
        let (l, d) = (Theme::light(), Theme::dark());
        assert_ne!(l, d);
        for (name, s) in l.roles() {
            // Pale foregrounds vanish on white unless they sit on a dark background.
            if s.bg.is_none() {
                assert!(
                    !matches!(
                        s.fg,
                        Some(
                            Color::Yellow
                                | Color::LightYellow
                                | Color::LightCyan
                                | Color::Gray
                                | Color::White
                        )
                    ),
                    "{name}: {:?}",
                    s.fg
                );
            }
        }
    }

    #[test]
    fn auto_reads_colorfgbg_background() {
        let auto = |v| Theme::pick(ThemeChoice::Auto, None, v);
        assert_eq!(auto(None), Theme::dark());
        assert_eq!(auto(os("0;15")), Theme::light());
        assert_eq!(auto(os("0;default;7")), Theme::light());
        assert_eq!(auto(os("15;0")), Theme::dark());
        assert_eq!(auto(os("7;8")), Theme::dark());
        assert_eq!(auto(os("garbage")), Theme::dark());
        assert_eq!(auto(os("")), Theme::dark());
        // An explicit choice ignores COLORFGBG.
        assert_eq!(
            Theme::pick(ThemeChoice::Dark, None, os("0;15")),
            Theme::dark()
        );
    }

    #[test]
    fn severity_maps_each_level_to_its_role() {
        let t = Theme::dark();
        assert_eq!(t.severity(Severity::Info), t.sev_info);
        assert_eq!(t.severity(Severity::Low), t.sev_low);
        assert_eq!(t.severity(Severity::Medium), t.sev_medium);
        assert_eq!(t.severity(Severity::High), t.sev_high);
        assert_eq!(t.severity(Severity::Critical), t.sev_critical);
    }

    #[test]
    fn status_class_picks_ok_or_err() {
        let t = Theme::dark();
        assert_eq!(t.status(100), t.response_ok);
        assert_eq!(t.status(299), t.response_ok);
        assert_eq!(t.status(300), t.response_err);
        assert_eq!(t.status(699), t.response_err);
        assert_eq!(t.status(0), t.response_err);
        assert_ne!(t.response_ok, t.response_err);
    }

    #[test]
    fn theme_choice_parses_names() {
        assert_eq!(ThemeChoice::parse("Dark"), Some(ThemeChoice::Dark));
        assert_eq!(ThemeChoice::parse("light"), Some(ThemeChoice::Light));
        assert_eq!(ThemeChoice::parse("AUTO"), Some(ThemeChoice::Auto));
        assert_eq!(ThemeChoice::parse("blue"), None);
    }
}
