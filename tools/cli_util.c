/*
 * Output, passphrase and file helpers for the saorsa-gossip CLI.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

void cli_err(const cli *c, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", c->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static char *read_line_noecho(FILE *tty, const char *prompt)
{
	struct termios old, quiet;
	char buf[1024];
	int fd = fileno(tty), restore = 0;
	char *res = NULL;

	fprintf(tty, "%s", prompt);
	fflush(tty);
	if (tcgetattr(fd, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
	}
	if (fgets(buf, sizeof(buf), tty) != NULL) {
		buf[strcspn(buf, "\r\n")] = '\0';
		res = strdup(buf);
	}
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &old);
	fprintf(tty, "\n");
	sg_wipe(buf, sizeof(buf));
	return res;
}

char *cli_passphrase(const cli *c, const char *prompt, int confirm)
{
	const char *envp = getenv("SAORSA_GOSSIP_PASSPHRASE");
	FILE *tty;
	char *p, *q;

	if (envp != NULL)
		return strdup(envp);
	tty = fopen("/dev/tty", "r+");
	if (tty == NULL) {
		cli_err(c, "a passphrase is needed: set SAORSA_GOSSIP_PASSPHRASE "
			   "or run on a terminal");
		return NULL;
	}
	p = read_line_noecho(tty, prompt);
	if (p != NULL && confirm) {
		q = read_line_noecho(tty, "Repeat passphrase: ");
		if (q == NULL || strcmp(p, q) != 0) {
			cli_err(c, "passphrases do not match");
			cli_pass_free(p);
			p = NULL;
		}
		cli_pass_free(q);
	}
	fclose(tty);
	if (p != NULL && p[0] == '\0') {
		cli_err(c, "empty passphrase");
		cli_pass_free(p);
		p = NULL;
	}
	return p;
}

void cli_pass_free(char *p)
{
	if (p != NULL) {
		sg_wipe(p, strlen(p));
		free(p);
	}
}

char *cli_read_text(const cli *c, const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (f == NULL) {
		cli_err(c, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(max + 1);
	if (buf == NULL) {
		fclose(f);
		cli_err(c, "out of memory");
		return NULL;
	}
	n = fread(buf, 1, max + 1, f);
	if (ferror(f) || n > max) {
		cli_err(c, "%s: %s", path,
			ferror(f) ? strerror(errno) : "file too large");
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

int cli_write_file(const cli *c, const char *path, const char *data,
		   size_t len)
{
	char tmp[4200];
	int fd, ok;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		cli_err(c, "cannot create %s: %s", tmp, strerror(errno));
		return -1;
	}
	ok = write(fd, data, len) == (ssize_t)len && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		cli_err(c, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}
