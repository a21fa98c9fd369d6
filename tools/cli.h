/*
 * Shared pieces of the saorsa-gossip command-line program: global options,
 * output helpers (text or JSON), passphrase input, exit codes.
 */
#ifndef SG_CLI_H
#define SG_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sg/env.h"
#include "sg/identity.h"

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
int cli_network(cli *c, int argc, char **argv);
int cli_pubsub(cli *c, int argc, char **argv);
int cli_testnet(cli *c, int argc, char **argv);
int cli_rendezvous(cli *c, int argc, char **argv);

/* Loads the identity called alias from the keystore (asking for the
 * passphrase when sealed); 0 or an exit code, with a message. */
int cli_load_identity(cli *c, const char *alias, sg_identity *out);
/* The identity in the keystore file path (".key" appended if missing),
 * created unsealed on first use (*created = 1). 0 or an exit code. */
int cli_identity_at(cli *c, const char *path, sg_identity *out, int *created);

/* Log lines on stderr: "TIME LEVEL module: message", or one JSON object
 * per line when json. */
void cli_log_sink(void *ud, sg_log_level level, const char *module,
		  const char *msg);
void cli_log_setup(cli *c, int json);
/* Runs a node in the foreground until SIGINT/SIGTERM or `network leave`;
 * returns the exit code. */
struct sg_node_config;
struct sg_ctl_request;
/* Control socket client: one request; one message (malloc'd, CBOR
 * validated), NULL at the end of the stream. */
int cli_ctl_request(int fd, const struct sg_ctl_request *r);
uint8_t *cli_ctl_read(int fd, size_t *len);
int cli_run_node(cli *c, struct sg_node_config *cfg, const sg_identity *id);
/* The node's data directory: given, or CONFIG_DIR/node. 0 or an exit
 * code, with a message. */
int cli_data_dir(cli *c, const char *given, char *out, size_t len);
/* One request to the node serving dir, one answer (*resp, malloc'd).
 * 0 or an exit code, with a message ("no node is running on ..."). */
int cli_ctl_call(cli *c, const char *dir, const struct sg_ctl_request *r,
		 uint8_t **resp, size_t *len);
/* Opens an answer at d: its array header and status. A status other
 * than 0 is printed with the node's message and returned. */
struct sg_cbor_dec;
int cli_ctl_status(cli *c, struct sg_cbor_dec *d, const uint8_t *buf,
		   size_t len, size_t *count);
/* A MESSAGE event of a subscription stream (docs/PROTOCOL.md, control
 * socket): [1, topic, publisher, seq, publish_ms, hops, id, payload]. The
 * pointers point into the event. */
typedef struct cli_message {
	const uint8_t *publisher, *id, *payload;
	size_t payload_len;
	uint64_t seq, publish_ms, hops;
} cli_message;
/* 0, or -1 when m is not a well-formed MESSAGE event. */
int cli_message_decode(cli_message *out, const uint8_t *m, size_t len);
/* Opens a stream (SUBSCRIBE, GROUP_LISTEN) on the node serving dir and
 * hands each message to on_msg (non-zero: malformed, the stream ends)
 * until SIGINT/SIGTERM or the node closes it. Exit code. */
int cli_ctl_stream(cli *c, const char *dir, const struct sg_ctl_request *r,
		   const char *started,
		   int (*on_msg)(cli *c, const uint8_t *m, size_t len, void *ud),
		   void *ud);
/* A payload as text (control bytes escaped) and a newline; or the JSON
 * members ,"payload_hex":... and, for UTF-8 text, ,"payload":... */
void cli_print_payload_text(const uint8_t *p, size_t n);
void cli_print_payload_json(const uint8_t *p, size_t n);
int cli_groups(cli *c, int argc, char **argv);
int cli_presence(cli *c, int argc, char **argv);

#endif
