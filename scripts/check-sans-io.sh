#!/usr/bin/env bash
# DESIGN.md section 3: the protocol cores are sans-IO. They take time and
# randomness as inputs and never reach for tokio, sockets, audio devices, the
# terminal or the wall clock. This fails the build when one does.
set -euo pipefail
cd "$(dirname "$0")/.."

cores=()
for path in src/proto src/client src/server src/media/codec.rs src/media/codec src/media/jitter.rs src/media/jitter src/media/session.rs src/media/session src/media/mixer.rs src/media/mixer src/media/conference_leg.rs src/media/conference_leg src/media/contributors.rs; do
  [ -e "$path" ] && cores+=("$path")
done
[ ${#cores[@]} -gt 0 ] || { echo "check-sans-io: no cores found"; exit 1; }

pattern='tokio::|std::net::(UdpSocket|TcpStream|TcpListener)|cpal::|ratatui::|crossterm::|Instant::now\(|SystemTime::now\(|std::thread::sleep'
if violations=$(grep -rnE "$pattern" "${cores[@]}" | grep -vE '^[^:]+:[0-9]+:\s*//'); then
  echo "check-sans-io: these lines in sans-IO cores reach for I/O or the clock:"
  echo "$violations"
  exit 1
fi
echo "check-sans-io: ${#cores[@]} core paths clean"
