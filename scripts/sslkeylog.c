/*
 * sslkeylog.c: LD_PRELOAD shim that makes any program linked with OpenSSL
 * >= 1.1.1 (here kamailio's tls.so and stunnel, OpenSSL 3.0) append its TLS
 * secrets to $SSLKEYLOGFILE in the NSS key log format (CLIENT_RANDOM for TLS
 * 1.2, CLIENT_/SERVER_HANDSHAKE_TRAFFIC_SECRET, CLIENT_/SERVER_TRAFFIC_SECRET_0,
 * EXPORTER_SECRET for TLS 1.3), the format Wireshark and siplens read.
 * Neither kamailio 5.6 nor stunnel 5.68 nor Debian's OpenSSL 3.0 can write a
 * key log themselves. Used by scripts/make-samples.sh (tls13-call, tls12-call).
 *
 * It wraps SSL_new(): the real one is called, then the key log callback is
 * installed on the SSL_CTX (unless the program set one). Nothing runs at load
 * time, so kamailio can still replace OpenSSL's allocator first. Each line is
 * written with one write() on an O_APPEND descriptor, so kamailio's worker
 * processes and stunnel's threads do not interleave lines.
 *
 * build: gcc -shared -fPIC -O2 -o sslkeylog.so sslkeylog.c -lssl -ldl
 * use:   SSLKEYLOGFILE=/tmp/keys LD_PRELOAD=./sslkeylog.so kamailio ...
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void keylog_line(const SSL *ssl, const char *line)
{
    const char *path = getenv("SSLKEYLOGFILE");
    size_t n;
    char buf[1024];
    int fd;

    (void)ssl;
    if (!path || !*path)
        return;
    n = strlen(line);
    if (n + 1 > sizeof(buf))
        return;
    memcpy(buf, line, n);
    buf[n++] = '\n';
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    if (write(fd, buf, n) != (ssize_t)n) {
        /* nothing sensible to do: the sample check will notice */
    }
    close(fd);
}

SSL *SSL_new(SSL_CTX *ctx)
{
    static SSL *(*real_ssl_new)(SSL_CTX *);

    if (!real_ssl_new)
        real_ssl_new = (SSL *(*)(SSL_CTX *))dlsym(RTLD_NEXT, "SSL_new");
    if (!real_ssl_new)
        abort();
    if (ctx && !SSL_CTX_get_keylog_callback(ctx))
        SSL_CTX_set_keylog_callback(ctx, keylog_line);
    return real_ssl_new(ctx);
}
