//! Where a driver's trace entries go: a text trace file (`--trace FILE`),
//! a pcap file (`--trace-pcap FILE`), and the trace pane, any of them.
//!
//! One task drains the driver's channel. Files are buffered and flushed
//! each time the channel runs dry, so a crash loses at most the burst that
//! was being written, and a busy server does not pay a write per message.
//! A file that fails to write is closed and logged once; the others go on.

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::PathBuf;

use tokio::sync::mpsc;

use super::TraceEntry;
use super::file::TraceWriter;
use super::pcap::PcapWriter;

/// What to do with the entries.
#[derive(Debug, Default)]
pub struct TraceOutputs {
    /// The text trace file.
    pub file: Option<PathBuf>,
    /// The pcap file.
    pub pcap: Option<PathBuf>,
    /// A live copy (the trace pane).
    pub live: Option<mpsc::UnboundedSender<TraceEntry>>,
}

impl TraceOutputs {
    /// Whether anything wants the entries at all.
    pub fn is_wanted(&self) -> bool {
        self.file.is_some() || self.pcap.is_some() || self.live.is_some()
    }
}

/// Creates the files (truncating them) and starts the task; returns the
/// sender to give [`crate::net::SipDriver::with_trace`]. The task ends
/// when every sender is dropped, after a last flush.
pub fn start(
    outputs: TraceOutputs,
) -> io::Result<(
    mpsc::UnboundedSender<TraceEntry>,
    tokio::task::JoinHandle<()>,
)> {
    let open = |path: &PathBuf| {
        File::create(path)
            .map(BufWriter::new)
            .map_err(|error| io::Error::new(error.kind(), format!("{}: {error}", path.display())))
    };
    let mut text = outputs
        .file
        .as_ref()
        .map(|path| open(path).and_then(TraceWriter::new))
        .transpose()?;
    let mut pcap = outputs
        .pcap
        .as_ref()
        .map(|path| open(path).and_then(PcapWriter::new))
        .transpose()?;
    let mut live = outputs.live;
    let (sender, mut entries) = mpsc::unbounded_channel::<TraceEntry>();
    let task = tokio::spawn(async move {
        while let Some(first) = entries.recv().await {
            let mut next = Some(first);
            while let Some(entry) = next {
                if let Some(writer) = &mut text {
                    if let Err(error) = writer.write_entry(&entry) {
                        tracing::error!(%error, "trace file: stopped writing");
                        text = None;
                    }
                }
                if let Some(writer) = &mut pcap {
                    if let Err(error) = writer.write_entry(&entry) {
                        tracing::error!(%error, "pcap trace: stopped writing");
                        pcap = None;
                    }
                }
                if let Some(sender) = &live {
                    if sender.send(entry).is_err() {
                        live = None;
                    }
                }
                next = entries.try_recv().ok();
            }
            flush(&mut text, &mut pcap);
        }
        flush(&mut text, &mut pcap);
    });
    Ok((sender, task))
}

fn flush(
    text: &mut Option<TraceWriter<BufWriter<File>>>,
    pcap: &mut Option<PcapWriter<BufWriter<File>>>,
) {
    if let Some(writer) = text {
        if let Err(error) = writer.flush() {
            tracing::error!(%error, "trace file: stopped writing");
            *text = None;
        }
    }
    if let Some(writer) = pcap {
        if let Err(error) = writer.flush() {
            tracing::error!(%error, "pcap trace: stopped writing");
            *pcap = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::proto::Transport;
    use crate::trace::Direction;

    #[tokio::test]
    async fn entries_reach_the_file_the_pcap_and_the_live_copy() {
        let dir = tempfile::tempdir().unwrap();
        let (live, mut seen) = mpsc::unbounded_channel();
        let outputs = TraceOutputs {
            file: Some(dir.path().join("trace.txt")),
            pcap: Some(dir.path().join("trace.pcap")),
            live: Some(live),
        };
        let (sender, task) = start(outputs).unwrap();
        let entry = TraceEntry {
            at: UNIX_EPOCH + Duration::from_secs(1),
            direction: Direction::Sent,
            transport: Transport::Udp,
            local: "127.0.0.1:5060".parse().unwrap(),
            peer: "127.0.0.1:5070".parse().unwrap(),
            bytes: b"OPTIONS sip:x SIP/2.0\r\n\r\n".to_vec(),
        };
        sender.send(entry.clone()).unwrap();
        sender.send(entry.clone()).unwrap();
        drop(sender);
        task.await.unwrap();
        let read = crate::trace::file::read_file(&dir.path().join("trace.txt")).unwrap();
        assert_eq!(read, vec![entry.clone(), entry.clone()]);
        let pcap = std::fs::read(dir.path().join("trace.pcap")).unwrap();
        assert_eq!(pcap.len(), 24 + 2 * (16 + 14 + 20 + 8 + entry.bytes.len()));
        assert_eq!(seen.recv().await, Some(entry.clone()));
        assert_eq!(seen.recv().await, Some(entry));
    }
}
