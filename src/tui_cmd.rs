//! The dashboard's side of the binary: its options and the [`Saver`] that re-reads the
//! capture files for "save calls as pcap".

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use siplens::engine::Analyzer;
use siplens::report::Report;
use siplens::tui::columns::Column;
use siplens::tui::theme::{Theme, ThemeChoice};
use siplens::tui::{Options, SaveError, Saver};

/// Dashboard options (ignored by the text and JSON reports).
#[derive(Args, Debug, Clone)]
pub struct TuiArgs {
    /// Dashboard colours; `NO_COLOR` in the environment turns colour off whatever this says.
    #[arg(long, value_enum, default_value_t = ThemeArg::Auto)]
    pub theme: ThemeArg,
    /// Dashboard call-list columns, comma-separated: index, start, method, from, to, src,
    /// dst, addr, msgs, state, duration, transport, findings, call-id, ua, or any SIP
    /// header name (e.g. `index,from,to,X-Account-ID`).
    #[arg(long, value_name = "LIST", value_parser = parse_columns)]
    pub columns: Option<Vec<Column>>,
    /// Dashboard display filter to start with (syntax in the README, e.g.
    /// `status >= 400 and ua ~ friendly`); `-Y` as in tshark.
    #[arg(short = 'Y', long, value_name = "EXPR")]
    pub display_filter: Option<String>,
    /// Dashboard: name an address in the ladder's columns, `IP=NAME` or `IP:PORT=NAME`
    /// (repeatable), e.g. `--alias 10.0.0.5=pbx`.
    #[arg(long, value_name = "ADDR=NAME", value_parser = parse_alias)]
    pub alias: Vec<(String, String)>,
}

fn parse_alias(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((a, n)) if !a.trim().is_empty() && !n.trim().is_empty() => {
            Ok((a.trim().to_string(), n.trim().to_string()))
        }
        _ => Err(format!("'{s}': expected ADDR=NAME, e.g. 10.0.0.5=pbx")),
    }
}

fn parse_columns(s: &str) -> Result<Vec<Column>, String> {
    Column::parse_list(s).map_err(|e| e.to_string())
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
    /// The dashboard options, the theme read from the environment.
    pub fn options<'a>(&self, saver: Option<Box<dyn Saver + 'a>>) -> Options<'a> {
        let choice = match self.theme {
            ThemeArg::Auto => ThemeChoice::Auto,
            ThemeArg::Dark => ThemeChoice::Dark,
            ThemeArg::Light => ThemeChoice::Light,
        };
        Options {
            theme: Some(Theme::from_env(choice)),
            columns: self.columns.clone(),
            filter: self.display_filter.clone(),
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
