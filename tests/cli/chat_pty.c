/*
 * The chat example (examples/chat.c) used the way a person uses it, each
 * in a pseudo-terminal of its own: start one chat, copy the contact it
 * prints into a second one, wait until each shows the other joining, type
 * a line in each and see it appear in the other (typing it again every few
 * seconds, as a person would while the topic's swarm forms); then, with the
 * CLI against the chats' data directories, alice creates a group and
 * invites bob, bob joins, and "/who room" in each turns presence on: each
 * shows the other coming online in the room, and bob's "/who" lists alice.
 * Then Ctrl-D in bob: alice sees him go offline (his goodbye) and leave;
 * Ctrl-D there too; both must exit with status 0. On failure both screens
 * are printed.
 *   usage: sg-chat-pty PATH/TO/sg-chat PATH/TO/saorsa-gossip
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS 30000

typedef struct term {
	const char *name;
	pid_t pid;
	int fd;
	char screen[1 << 16];
	size_t len;
	int exited, status;
} term;

static term T[2];

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void dump_and_fail(const char *why)
{
	int i;

	fprintf(stderr, "FAIL: %s\n", why);
	for (i = 0; i < 2; i++) {
		if (T[i].name == NULL)
			continue;
		fprintf(stderr, "---- screen of %s ----\n%.*s\n", T[i].name,
			(int)T[i].len, T[i].screen);
		if (T[i].pid > 0 && !T[i].exited)
			kill(T[i].pid, SIGKILL);
	}
	exit(1);
}

static void start(term *t, const char *name, char *const argv[])
{
	struct winsize ws = {24, 100, 0, 0};

	t->name = name;
	t->pid = forkpty(&t->fd, NULL, NULL, &ws);
	if (t->pid < 0)
		dump_and_fail("forkpty");
	if (t->pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	fcntl(t->fd, F_SETFL, fcntl(t->fd, F_GETFL) | O_NONBLOCK);
}

/* Reads whatever both terminals show, for up to ms. */
static void pump(int ms)
{
	struct pollfd p[2];
	int i, n = 0;

	for (i = 0; i < 2; i++) {
		p[i].fd = T[i].name != NULL && !T[i].exited ? T[i].fd : -1;
		p[i].events = POLLIN;
		p[i].revents = 0;
	}
	if (poll(p, 2, ms) <= 0)
		return;
	for (i = 0; i < 2; i++) {
		term *t = &T[i];
		ssize_t k;
		if (p[i].fd < 0 || p[i].revents == 0)
			continue;
		if (t->len + 1 >= sizeof(t->screen))
			t->len = 0; /* a full screen: start over */
		k = read(t->fd, t->screen + t->len,
			 sizeof(t->screen) - 1 - t->len);
		if (k > 0) {
			t->len += (size_t)k;
			t->screen[t->len] = '\0';
			n++;
		}
	}
	(void)n;
}

static int shows(const term *t, const char *what)
{
	return t->len > 0 && strstr(t->screen, what) != NULL;
}

static void wait_shows(term *t, const char *what)
{
	uint64_t end = now_ms() + WAIT_MS;
	char why[300];

	while (!shows(t, what) && now_ms() < end)
		pump(100);
	if (!shows(t, what)) {
		snprintf(why, sizeof(why), "%s never showed \"%s\"", t->name,
			 what);
		dump_and_fail(why);
	}
}

static void type(term *t, const char *s)
{
	if (write(t->fd, s, strlen(s)) != (ssize_t)strlen(s))
		dump_and_fail("cannot type");
}

/* Types line in `from` until `to` shows expect (every 3 s). */
static void say(term *from, const char *line, term *to, const char *expect)
{
	uint64_t end = now_ms() + WAIT_MS, next = 0;
	char why[300];

	while (!shows(to, expect) && now_ms() < end) {
		if (now_ms() >= next) {
			type(from, line);
			next = now_ms() + 3000;
		}
		pump(100);
	}
	if (!shows(to, expect)) {
		snprintf(why, sizeof(why), "%s never showed \"%s\"", to->name,
			 expect);
		dump_and_fail(why);
	}
}

static void wait_exit(term *t)
{
	uint64_t end = now_ms() + WAIT_MS;
	char why[200];

	while (now_ms() < end) {
		pid_t r = waitpid(t->pid, &t->status, WNOHANG);
		if (r == t->pid) {
			t->exited = 1;
			break;
		}
		pump(50);
	}
	if (!t->exited) {
		snprintf(why, sizeof(why), "%s did not exit after Ctrl-D",
			 t->name);
		dump_and_fail(why);
	}
	if (!WIFEXITED(t->status) || WEXITSTATUS(t->status) != 0) {
		snprintf(why, sizeof(why), "%s exited with status %d", t->name,
			 t->status);
		dump_and_fail(why);
	}
}

/* Runs the CLI with args; fails the test unless it exits 0. */
static void cli(char *const args[])
{
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0)
			dup2(fd, 1);
		execv(args[0], args);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		char why[200];
		snprintf(why, sizeof(why), "saorsa-gossip groups %s failed",
			 args[2]);
		dump_and_fail(why);
	}
}

/* The PeerId in "sg-chat -j PEERID@ADDR" on t's screen (65 bytes). */
static void peer_of(const term *t, char *contact, size_t cap, char *id)
{
	const char *p = strstr(t->screen, "sg-chat -j "), *e;

	if (p == NULL)
		dump_and_fail("a chat printed no contact");
	p += strlen("sg-chat -j ");
	e = strchr(p, ' ');
	if (e == NULL || (size_t)(e - p) >= cap || e - p < 65)
		dump_and_fail("a chat's contact is malformed");
	memcpy(contact, p, (size_t)(e - p));
	contact[e - p] = '\0';
	memcpy(id, p, 64);
	id[64] = '\0';
}

int main(int argc, char **argv)
{
	char contact[300], bob_contact[300], alice_id[65], bob_id[65];
	char dir_a[] = "/tmp/sg-chat-a-XXXXXX", dir_b[] = "/tmp/sg-chat-b-XXXXXX";
	char inv[64], want[100];
	char *argv_a[8], *argv_b[10];

	if (argc != 3) {
		fprintf(stderr, "usage: sg-chat-pty PATH/TO/sg-chat "
				"PATH/TO/saorsa-gossip\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(dir_a) == NULL || mkdtemp(dir_b) == NULL)
		dump_and_fail("mkdtemp");
	snprintf(inv, sizeof(inv), "%s/invite", dir_a);
	argv_a[0] = argv[1];
	argv_a[1] = "-n";
	argv_a[2] = "alice";
	argv_a[3] = "-d";
	argv_a[4] = dir_a;
	argv_a[5] = "lobby";
	argv_a[6] = NULL;
	start(&T[0], "alice", argv_a);
	/* "Others join with: sg-chat -j PEERID@ADDR lobby" */
	wait_shows(&T[0], " lobby\r\n");
	peer_of(&T[0], contact, sizeof(contact), alice_id);

	argv_b[0] = argv[1];
	argv_b[1] = "-n";
	argv_b[2] = "bob";
	argv_b[3] = "-j";
	argv_b[4] = contact;
	argv_b[5] = "-d";
	argv_b[6] = dir_b;
	argv_b[7] = "lobby";
	argv_b[8] = NULL;
	start(&T[1], "bob", argv_b);
	wait_shows(&T[1], " lobby\r\n");
	peer_of(&T[1], bob_contact, sizeof(bob_contact), bob_id);
	wait_shows(&T[0], " joined 127.0.0.1:");
	wait_shows(&T[1], " joined 127.0.0.1:");

	say(&T[0], "hello from alice\r", &T[1], "alice: hello from alice");
	say(&T[1], "hi alice, bob here\r", &T[0], "bob: hi alice, bob here");

	/* presence: a group made with the CLI against the chats' nodes */
	{
		char *mk[] = {argv[2], "groups", "create", "--name", "room",
			      "--data-dir", dir_a, NULL};
		char *iv[] = {argv[2], "groups", "invite", "--group", "room",
			      "--peer", bob_id, "--out", inv, "--data-dir",
			      dir_a, NULL};
		char *jn[] = {argv[2], "groups", "join", "--invite-file", inv,
			      "--data-dir", dir_b, NULL};
		cli(mk);
		cli(iv);
		cli(jn);
	}
	type(&T[0], "/who room\r");
	wait_shows(&T[0], "* room: that is all");
	type(&T[1], "/who room\r");
	snprintf(want, sizeof(want), "* %.8s is online in room", alice_id);
	wait_shows(&T[1], want);
	snprintf(want, sizeof(want), "* %.8s is online in room", bob_id);
	wait_shows(&T[0], want);
	type(&T[1], "/who room\r");
	snprintf(want, sizeof(want), "* %.8s is in room (127.0.0.1:", alice_id);
	wait_shows(&T[1], want);

	/* Ctrl-D at the start of a line: bob leaves, alice sees it. */
	type(&T[1], "\x04");
	wait_exit(&T[1]);
	snprintf(want, sizeof(want), "* %.8s went offline in room", bob_id);
	wait_shows(&T[0], want);
	wait_shows(&T[0], " left");
	type(&T[0], "\x04");
	wait_exit(&T[0]);
	printf("ok: two chats in pseudo-terminals talked both ways, saw each "
	       "other online in a group, and left\n");
	{
		char rm[200];
		snprintf(rm, sizeof(rm), "rm -rf '%s' '%s'", dir_a, dir_b);
		if (system(rm) != 0)
			fprintf(stderr, "could not remove %s, %s\n", dir_a,
				dir_b);
	}
	return 0;
}
