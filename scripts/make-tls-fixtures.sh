#!/usr/bin/env bash
# Regenerates the SIP-over-TLS handshake captures in tests/data/ (used by src/tls tests and
# tests/tls.rs). Needs root (tcpdump on lo) and OpenSSL 3. Keys are thrown away: the captures
# hold only handshakes and a few encrypted records.
#
#   tls12-selfsigned.pcap  TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256, self-signed RSA 2048, :5061, SNI
#   tls12-ca.pcap          TLS 1.2, leaf RSA 2048 signed by a test CA, :5061
#   tls13-alpn.pcap        TLS 1.3 on :15061 with ALPN "sip" (not the SIP-TLS port)
#   tls10-cbc.pcap         TLS 1.0 AES128-SHA (CBC), self-signed RSA 1024 / SHA-1, :5061
#   tls12-expired.pcap     TLS 1.2, CA-signed leaf valid 2020-01-01..2021-01-01, :5061
set -euo pipefail

OUT="$(cd "$(dirname "$0")/.." && pwd)/tests/data"
W="$(mktemp -d)"
trap 'rm -rf "$W"' EXIT
cd "$W"
mkdir -p "$OUT"

# Certificates.
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -keyout self.key -out self.pem \
    -subj "/CN=sip.example.com/O=siplens test" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -keyout ca.key -out ca.pem \
    -subj "/CN=siplens Test CA" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr \
    -subj "/CN=proxy.example.com" 2>/dev/null
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 -days 3650 \
    -out leaf.pem 2>/dev/null
openssl req -x509 -newkey rsa:1024 -nodes -sha1 -days 3650 -keyout weak.key -out weak.pem \
    -subj "/CN=old.example.com" 2>/dev/null
# An expired leaf: OpenSSL 3.0 `x509` cannot set past dates, `ca` can.
openssl req -newkey rsa:2048 -nodes -keyout exp.key -out exp.csr \
    -subj "/CN=expired.example.com" 2>/dev/null
touch index.txt
echo 01 > serial
cat > ca.cnf <<EOF
[ ca ]
default_ca = d
[ d ]
database = $W/index.txt
new_certs_dir = $W
serial = $W/serial
default_md = sha256
policy = p
[ p ]
commonName = supplied
EOF
openssl ca -config ca.cnf -batch -notext -cert ca.pem -keyfile ca.key -in exp.csr -out exp.pem \
    -startdate 20200101000000Z -enddate 20210101000000Z 2>/dev/null

# capture NAME PORT "SERVER OPTIONS" "CLIENT OPTIONS"
capture() {
    local name=$1 port=$2 sopts=$3 copts=$4
    tcpdump -i lo -s 0 -U -w "$OUT/$name" "tcp port $port" 2>/dev/null &
    local td=$!
    sleep 1
    # shellcheck disable=SC2086
    openssl s_server -accept "$port" -naccept 1 -quiet $sopts >/dev/null 2>&1 &
    local sv=$!
    sleep 1
    # shellcheck disable=SC2086
    printf 'OPTIONS sip:proxy.example.com SIP/2.0\r\nContent-Length: 0\r\n\r\n' |
        timeout 5 openssl s_client -connect "127.0.0.1:$port" -quiet $copts >/dev/null 2>&1 || true
    sleep 1
    kill "$sv" 2>/dev/null || true
    wait "$sv" 2>/dev/null || true
    kill "$td"
    wait "$td" 2>/dev/null || true
    echo "$name: $(stat -c %s "$OUT/$name") bytes"
}

capture tls12-selfsigned.pcap 5061 \
    "-tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256 -cert self.pem -key self.key" \
    "-tls1_2 -servername sip.example.com"
capture tls12-ca.pcap 5061 \
    "-tls1_2 -cert leaf.pem -key leaf.key" \
    "-tls1_2 -servername proxy.example.com"
capture tls13-alpn.pcap 15061 \
    "-tls1_3 -cert self.pem -key self.key -alpn sip" \
    "-tls1_3 -servername sip.example.com -alpn sip"
capture tls10-cbc.pcap 5061 \
    "-tls1 -cipher AES128-SHA@SECLEVEL=0 -cert weak.pem -key weak.key" \
    "-tls1 -cipher AES128-SHA@SECLEVEL=0"
capture tls12-expired.pcap 5061 \
    "-tls1_2 -cert exp.pem -key exp.key" \
    "-tls1_2 -servername expired.example.com"
