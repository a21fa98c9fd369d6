/*
 * Shared pieces of the saorsa-gossip command-line program: global options,
 * output helpers (text or JSON), passphrase input, exit codes.
 */
#ifndef SG_CLI_H
#define SG_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "sg/env.h"

/* Exit codes a script can rely on. */
#define CLI_OK 0
#define CLI_FAIL 1  /* the operation failed (missing identity, bad signature) */
#define CLI_USAGE 2 /* unknown command or bad flag */

typedef struct cli {
	const char *prog;
	const char *config_dir; /* -c/--config-dir, or NULL */
	int verbose;
	int json;
	sg_env env;
} cli;

/* Prints "prog: message" to stderr. */
void cli_err(const cli *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* JSON string literal with escapes, to f. */
void cli_json_str(FILE *f, const char *s);

/* Passphrase: $SAORSA_GOSSIP_PASSPHRASE if set, else a prompt on the
 * terminal without echo (twice when confirm). Returns a malloc'd string,
 * or NULL with a message when none can be had. Free with cli_pass_free. */
char *cli_passphrase(const cli *c, const char *prompt, int confirm);
void cli_pass_free(char *p);

/* Reads a whole file of at most max bytes; NULL with a message. */
char *cli_read_text(const cli *c, const char *path, size_t max, size_t *len);

/* Writes data to path atomically (temp file + rename), mode 0644. */
int cli_write_file(const cli *c, const char *path, const char *data,
		   size_t len);

int cli_identity(cli *c, int argc, char **argv);

#endif
