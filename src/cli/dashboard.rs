//! The dashboard's side of the binary: its options and the [`Saver`] that re-reads the
//! capture files for "save calls as pcap".

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use siplens::engine::Analyzer;
use siplens::report::Report;
use siplens::tui::columns::Column;
use siplens::tui::theme::{Theme, ThemeChoice};
use siplens::tui::{Options, SaveError, Saver};

/// Dashboard options: `siplens tui`, and `siplens FILE` on a terminal. `report` has none
/// of them (its display filter is [`crate::FilterArgs`]).
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Dashboard")]
pub struct TuiArgs {
    /// Colours: auto, dark or light [default: auto].
    ///
    /// `NO_COLOR` in the environment turns colour off whatever this says.
    #[arg(long, value_enum, value_name = "THEME", hide_possible_values = true)]
    pub theme: Option<ThemeArg>,
    /// Call-list columns, e.g. index,from,to,X-Account-ID.
    ///
    /// Comma-separated: index, start, method, from, to, src, dst, addr, msgs, state,
    /// duration, transport, mos, findings, call-id, ua, or any SIP header name.
    #[arg(long, value_name = "LIST", value_parser = parse_columns)]
    pub columns: Option<ColumnList>,
    /// Name an address in the ladder, e.g. 10.0.0.5=pbx.
    ///
    /// `IP=NAME` or `IP:PORT=NAME`; repeatable.
    #[arg(long, value_name = "ADDR=NAME", value_parser = parse_alias)]
    pub alias: Vec<(String, String)>,
}

/// The columns of `--columns`, parsed as one value: clap takes `Option<Vec<T>>` for a
/// repeatable flag of `T`, so the list needs a type of its own.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnList(pub Vec<Column>);

fn parse_alias(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((a, n)) if !a.trim().is_empty() && !n.trim().is_empty() => {
            Ok((a.trim().to_string(), n.trim().to_string()))
        }
        _ => Err(format!("'{s}': expected ADDR=NAME, e.g. 10.0.0.5=pbx")),
    }
}

fn parse_columns(s: &str) -> Result<ColumnList, String> {
    Column::parse_list(s)
        .map(ColumnList)
        .map_err(|e| e.to_string())
}

/// `--theme` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ThemeArg {
    /// Dark unless `COLORFGBG` says the background is light.
    Auto,
    /// For dark backgrounds.
    Dark,
    /// For light backgrounds.
    Light,
}

impl TuiArgs {
    /// The first dashboard option given on the command line, as the user would spell it
    /// (to refuse it in a run that prints a report).
    pub fn given(&self) -> Option<&'static str> {
        [
            ("--theme", self.theme.is_some()),
            ("--columns", self.columns.is_some()),
            ("--alias", !self.alias.is_empty()),
        ]
        .into_iter()
        .find_map(|(flag, on)| on.then_some(flag))
    }

    /// The dashboard options, the theme read from the environment; `filter` is the
    /// display filter to start with.
    pub fn options<'a>(
        &self,
        filter: Option<&str>,
        saver: Option<Box<dyn Saver + 'a>>,
    ) -> Options<'a> {
        let choice = match self.theme.unwrap_or(ThemeArg::Auto) {
            ThemeArg::Auto => ThemeChoice::Auto,
            ThemeArg::Dark => ThemeChoice::Dark,
            ThemeArg::Light => ThemeChoice::Light,
        };
        Options {
            theme: Some(Theme::from_env(choice)),
            columns: self.columns.clone().map(|c| c.0),
            filter: filter.map(str::to_string),
            aliases: self.alias.clone(),
            saver,
            live: None,
        }
    }
}

/// Saves from a finished file analysis: pcap by re-reading the inputs, JSON from the
/// analyzer.
pub struct FileSaver<'a> {
    /// The analysis the dashboard shows.
    pub analyzer: &'a Analyzer,
    /// Its inputs, in the order read (frame numbers continue across them).
    pub inputs: &'a [PathBuf],
}

impl Saver for FileSaver<'_> {
    fn save_pcap(&self, call_ids: &[String], path: &Path) -> Result<String, SaveError> {
        let ids: Vec<&str> = call_ids.iter().map(String::as_str).collect();
        let sel = siplens::export::Selection::for_calls(self.analyzer, &ids)?;
        let stats = siplens::export::export_to_file(self.inputs, &sel, path)?;
        Ok(format!("{} calls, {stats}", ids.len()))
    }

    fn save_json(&self, path: &Path) -> Result<String, SaveError> {
        let report = Report::build(self.analyzer, 0);
        let file = std::fs::File::create(path)?;
        report.write_json(std::io::BufWriter::new(file), true)?;
        Ok(format!(
            "report of {} dialogs, {} findings",
            report.dialogs.len(),
            report.findings.len()
        ))
    }
}
