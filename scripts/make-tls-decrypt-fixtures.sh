#!/usr/bin/env bash
# Regenerates the TLS decryption fixtures in src/net/tls_decrypt/testdata/ (used by the
# src/net/tls_decrypt tests). Needs root (tcpdump on lo), OpenSSL 3 and tshark. Loopback only;
# every process is bounded with `timeout`.
#
# Each case NAME gives two files:
#   NAME.txt     the TCP payload segments in capture order, one per line: "c HEX" (client to
#                server) or "s HEX" (server to client)
#   NAME.keylog  the client's NSS key log (SSLKEYLOGFILE format)
# and server.key (PKCS#8; server-pkcs1.key: PKCS#1) is the throwaway RSA 2048 key of every case.
# The client sends REQ, the server answers RESP: the tests expect exactly these bytes.
set -euo pipefail

OUT="$(cd "$(dirname "$0")/.." && pwd)/src/net/tls_decrypt/testdata"
W="$(mktemp -d)"
trap 'rm -rf "$W"' EXIT
cd "$W"
mkdir -p "$OUT"

REQ='OPTIONS sip:bob@example.com SIP/2.0\r\nCall-ID: tls-decrypt-test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n'
RESP='SIP/2.0 200 OK\r\nCall-ID: tls-decrypt-test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n'

# The key is kept from one run to the next (delete it for a new one), so that regenerating one
# case (ONLY="name ...") leaves the others valid.
if [ -f "$OUT/server.key" ]; then
    cp "$OUT/server.key" server.key
else
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out server.key 2>/dev/null
    cp server.key "$OUT/server.key"
fi
openssl req -x509 -new -key server.key -sha256 -days 3650 -out server.pem \
    -subj "/CN=sip.example.com" 2>/dev/null
# The same key in PKCS#1 ("RSA PRIVATE KEY"), the other PEM form accepted.
openssl rsa -in server.key -traditional -out "$OUT/server-pkcs1.key" 2>/dev/null

# OpenSSL 3.0 has no command-line switch for extended master secret: a config file turns it off.
cat > noems.cnf <<'CNF'
openssl_conf = conf
[conf]
ssl_conf = ssl
[ssl]
system_default = sys
[sys]
Options = -ExtendedMasterSecret
CNF

# What the client types: REQ; with CMD set, then that s_client command letter (read only
# without -ign_eof: "K" a TLS 1.3 KeyUpdate with update_requested, RFC 8446 §4.6.3; "R" a
# TLS 1.2 renegotiation) and REQ again.
client_input() {
    printf "$REQ"
    if [ -n "${CMD:-}" ]; then
        sleep 0.5
        printf '%s\n' "$CMD"
        sleep 0.5
        printf "$REQ"
    fi
    sleep 3
}

# capture NAME PORT "SERVER OPTIONS" "CLIENT OPTIONS" [CLIENT OPENSSL_CONF]
# ONLY="NAME ..." in the environment regenerates only those cases.
capture() {
    local name=$1 port=$2 sopts=$3 copts=$4 cconf=${5:-}
    if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then
        return
    fi
    rm -f keylog.txt x.pcap
    timeout 15 tcpdump -i lo -s 0 -U -w x.pcap "tcp port $port" 2>/dev/null &
    local td=$!
    sleep 1
    # shellcheck disable=SC2086
    (sleep 3; printf "$RESP"; sleep 2) |
        timeout 9 openssl s_server -accept "127.0.0.1:$port" -naccept 1 -quiet \
            -cert server.pem -key server.key $sopts >/dev/null 2>&1 &
    local sv=$!
    sleep 1
    # shellcheck disable=SC2086
    client_input |
        env ${cconf:+OPENSSL_CONF=$cconf} timeout 6 openssl s_client -connect "127.0.0.1:$port" -quiet \
            -keylogfile keylog.txt $copts >/dev/null 2>&1 || true
    wait "$sv" 2>/dev/null || true
    sleep 1
    kill "$td" 2>/dev/null || true
    wait "$td" 2>/dev/null || true
    tshark -r x.pcap -Y 'tcp.len > 0' -T fields -e tcp.srcport -e tcp.payload 2>/dev/null |
        awk -v p="$port" '{ print ($1 == p ? "s" : "c"), $2 }' > "$OUT/$name.txt"
    grep -v '^#' keylog.txt > "$OUT/$name.keylog"
    echo "$name: $(wc -l < "$OUT/$name.txt") segments, $(wc -l < "$OUT/$name.keylog") secrets"
}

capture tls13-aes128gcm 15301 "-tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256" "-tls1_3"
capture tls13-aes256gcm 15302 "-tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384" "-tls1_3"
capture tls13-chacha20 15303 "-tls1_3 -ciphersuites TLS_CHACHA20_POLY1305_SHA256" "-tls1_3"
capture tls12-ecdhe-aes128gcm 15304 "-tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256" "-tls1_2"
capture tls12-ecdhe-aes256gcm 15305 "-tls1_2 -cipher ECDHE-RSA-AES256-GCM-SHA384" "-tls1_2"
capture tls12-ecdhe-chacha20 15306 "-tls1_2 -cipher ECDHE-RSA-CHACHA20-POLY1305" "-tls1_2"
# CBC with SHA-1: encrypt-then-MAC (RFC 7366, OpenSSL's default) and MAC-then-encrypt.
capture tls12-ecdhe-aes128sha-etm 15307 "-tls1_2 -cipher ECDHE-RSA-AES128-SHA" "-tls1_2"
capture tls12-ecdhe-aes128sha-mte 15308 "-tls1_2 -cipher ECDHE-RSA-AES128-SHA" "-tls1_2 -no_etm"
# RSA key exchange (decryptable with server.key): extended master secret (RFC 7627) on or off,
# encrypt-then-MAC on or off.
capture tls12-rsa-aes256sha256-ems-etm 15309 "-tls1_2 -cipher AES256-SHA256" "-tls1_2"
capture tls12-rsa-aes256sha256-noems-mte 15310 "-tls1_2 -cipher AES256-SHA256" \
    "-tls1_2 -no_etm" "$W/noems.cnf"
# TLS 1.3 KeyUpdate: the client updates its keys and asks the server to update its own.
CMD=K capture tls13-keyupdate 15311 "-tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256" \
    "-tls1_3 -no_ign_eof"
# TLS 1.2 renegotiation (RFC 5746), a full handshake inside the encrypted stream.
CMD=R capture tls12-renegotiation 15312 \
    "-tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256 -client_renegotiation -no_resumption_on_reneg" \
    "-tls1_2 -no_ign_eof"
