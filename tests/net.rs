//! PRoot's network options with a small TCP server and client inside the
//! guest: `-p` alone (low ports move up by 2000), `-p PORT_IN:PORT_OUT`
//! (a port map) and `-n` (a port in use is replaced by a free one, and
//! connections to the port asked for reach it).

mod common;

use common::*;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::process::Output;
use std::time::Duration;

const NET_C: &str = r#"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct sockaddr_in at(int port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

/* serve PORT: bind, listen, create /tmp/ready, answer one client. */
static int serve(int port) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = at(port);
    if (bind(s, (struct sockaddr *)&a, sizeof a)) { printf("bind %d: %s\n", port, strerror(errno)); return 1; }
    if (listen(s, 4)) { perror("listen"); return 2; }
    close(open("/tmp/ready", O_CREAT | O_WRONLY, 0644));
    int c = accept(s, 0, 0);
    if (c < 0) { perror("accept"); return 3; }
    const char *msg = "hello from the guest server\n";
    if (write(c, msg, strlen(msg)) < 0) return 4;
    close(c);
    return 0;
}

/* client PORT: connect and print what the server says. */
static int client(int port) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = at(port);
    if (connect(s, (struct sockaddr *)&a, sizeof a)) { printf("connect %d: %s\n", port, strerror(errno)); return 1; }
    char buf[128];
    ssize_t n = read(s, buf, sizeof buf - 1);
    if (n < 0) return 2;
    buf[n] = 0;
    printf("client got: %s", buf);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, 0, _IOLBF, 0);
    if (argc != 3) return 64;
    int port = atoi(argv[2]);
    if (!strcmp(argv[1], "serve")) return serve(port);
    if (!strcmp(argv[1], "client")) return client(port);
    return 64;
}
"#;

fn guest() -> Option<TinyRootfs> {
    let bin = compile_c(NET_C, &[])?;
    let r = tiny_rootfs();
    r.install(&bin, "/usr/bin/net");
    let _ = std::fs::remove_dir_all(bin.parent().unwrap());
    Some(r)
}

/// A free port on the loopback interface, as the kernel picks one.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The server in the background, then the client, in one guest shell.
fn serve_and_connect(r: &TinyRootfs, opts: &[&str], port: u16) -> Output {
    let script = format!(
        "rm -f /tmp/ready; net serve {port} & \
         i=0; while ! test -e /tmp/ready; do i=$((i+1)); test $i -gt 400 && exit 9; sleep 0.05; done; \
         net client {port}; wait $!"
    );
    let mut args: Vec<&str> = opts.to_vec();
    args.extend(["-b", "/dev", "/bin/sh", "-c", &script]);
    r.run_timeout(&args, 60)
}

/// Wait for the guest server to appear at `port` on the host, then talk to it.
fn host_client(port: u16) -> String {
    for _ in 0..400 {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let mut got = String::new();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let _ = s.read_to_string(&mut got);
            return got;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nothing listens on port {port}");
}

#[test]
fn a_port_map_moves_bind_and_connect() {
    let Some(r) = guest() else { return };
    let (asked, real) = (free_port(), free_port());
    let map = format!("{asked}:{real}");
    // Guest server and client both use the asked port and meet at the real one.
    let out = serve_and_connect(&r, &["-p", &map], asked);
    assert_success(&out, "-p N:M");
    assert_eq!(
        stdout_str(&out),
        "client got: hello from the guest server\n"
    );
    // Seen from the host, the server listens at the real port.
    let mut cmd = r.sproot_cmd(&["-p", &map, "/usr/bin/net", "serve", &asked.to_string()]);
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let got = host_client(real);
    let _ = child.wait();
    assert_eq!(got, "hello from the guest server\n");
}

#[test]
fn bare_dash_p_moves_low_ports_up_by_2000() {
    let Some(r) = guest() else { return };
    // Port 80+k is privileged for an unprivileged guest; with -p the guest
    // binds 2080+k and its client reaches it by the low number.
    let low = 800 + (std::process::id() % 100) as u16;
    let out = serve_and_connect(&r, &["-p"], low);
    assert_success(&out, "-p");
    assert_eq!(
        stdout_str(&out),
        "client got: hello from the guest server\n"
    );
    let mut cmd = r.sproot_cmd(&["-p", "/usr/bin/net", "serve", &low.to_string()]);
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let got = host_client(low + 2000);
    let _ = child.wait();
    assert_eq!(got, "hello from the guest server\n");
}

#[test]
fn netcoop_gives_a_free_port_when_the_asked_one_is_taken() {
    let Some(r) = guest() else { return };
    // Another program holds the port.
    let holder = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let plain = serve_and_connect(&r, &[], port);
    assert_eq!(
        stdout_str(&plain),
        format!("bind {port}: Address already in use\n"),
        "{}",
        describe(&plain)
    );
    // With -n the guest server gets another port, and the guest client that
    // connects to the port asked for reaches the guest server, not the holder.
    holder.set_nonblocking(true).unwrap();
    let out = serve_and_connect(&r, &["-n"], port);
    assert_success(&out, "-n");
    assert_eq!(
        stdout_str(&out),
        "client got: hello from the guest server\n"
    );
    assert!(
        holder.accept().is_err(),
        "the holder of the port got the guest's connection"
    );
}

#[test]
fn a_bad_port_map_is_refused() {
    let r = tiny_rootfs();
    let out = r.run(&["--port", "80:0", "/bin/true"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        stderr_str(&out).contains("expected PORT_IN:PORT_OUT"),
        "{}",
        describe(&out)
    );
}
