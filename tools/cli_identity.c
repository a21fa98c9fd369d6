/*
 * saorsa-gossip identity ...: create, list, show, delete, export, sign,
 * verify. Identities live in the keystore (include/sg/keystore.h); file
 * signatures are pure ML-DSA-65 (FIPS 204) with the context string
 * SG_CTX_FILE_SIGNATURE, computed by streaming the file through the
 * external-mu interface so a file of any size is signed in constant memory.
 * The public-key and signature file formats are in docs/PROTOCOL.md.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "sg/err.h"
#include "sg/keystore.h"

#define SG_CTX_FILE_SIGNATURE "saorsa-gossip/v1 file signature"
#define PK_HEADER "saorsa-gossip public key v1"
#define SIG_HEADER "saorsa-gossip signature v1"

static const char identity_usage[] =
	"usage: saorsa-gossip identity SUBCOMMAND [OPTIONS]\n"
	"\n"
	"  create --alias A [--seal] [--force]   make a new identity\n"
	"  list                                  list identities\n"
	"  show A                                show one identity\n"
	"  delete A                              delete an identity\n"
	"  export A [--output FILE]              write A's public key\n"
	"  sign --alias A [--output SIG] FILE    detached signature of FILE\n"
	"                                        (default SIG: FILE.sig)\n"
	"  verify --public KEYFILE --signature SIG FILE\n"
	"                                        check a signature; exit 0 if\n"
	"                                        valid, 1 if not\n"
	"\n"
	"Options for every subcommand:\n"
	"  -c, --config-dir DIR   configuration directory\n"
	"      --json             machine-readable output\n"
	"  -h, --help             this help\n"
	"\n"
	"--seal protects the key with a passphrase (Argon2id +\n"
	"XChaCha20-Poly1305) taken from $SAORSA_GOSSIP_PASSPHRASE or asked on\n"
	"the terminal. Sealed identities need it again to sign.\n";

enum { OPT_ALIAS = 256, OPT_SEAL, OPT_FORCE, OPT_OUTPUT, OPT_PUBLIC,
       OPT_SIGNATURE, OPT_JSON };

typedef struct args {
	const char *alias, *output, *public_key, *signature;
	int seal, force;
	const char *pos[2];
	int npos;
} args;

/* Parses a subcommand's options; returns 0, or an exit code to return. */
static int parse(cli *c, int argc, char **argv, args *a, unsigned allowed,
		 int max_pos)
{
	static const struct option opts[] = {
		{"alias", required_argument, NULL, OPT_ALIAS},
		{"seal", no_argument, NULL, OPT_SEAL},
		{"force", no_argument, NULL, OPT_FORCE},
		{"output", required_argument, NULL, OPT_OUTPUT},
		{"public", required_argument, NULL, OPT_PUBLIC},
		{"signature", required_argument, NULL, OPT_SIGNATURE},
		{"json", no_argument, NULL, OPT_JSON},
		{"config-dir", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	memset(a, 0, sizeof(*a));
	optind = 0; /* 0, not 1: fully re-initialise GNU getopt (mode too) */
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		if (ch >= OPT_ALIAS && ch <= OPT_SIGNATURE &&
		    !(allowed & (1u << (ch - OPT_ALIAS)))) {
			cli_err(c, "option --%s does not apply to '%s'",
				opts[ch - OPT_ALIAS].name, argv[0]);
			fputs(identity_usage, stderr);
			return CLI_USAGE;
		}
		switch (ch) {
		case OPT_ALIAS:
			a->alias = optarg;
			break;
		case OPT_SEAL:
			a->seal = 1;
			break;
		case OPT_FORCE:
			a->force = 1;
			break;
		case OPT_OUTPUT:
			a->output = optarg;
			break;
		case OPT_PUBLIC:
			a->public_key = optarg;
			break;
		case OPT_SIGNATURE:
			a->signature = optarg;
			break;
		case OPT_JSON:
			c->json = 1;
			break;
		case 'c':
			c->config_dir = optarg;
			break;
		case 'h':
			fputs(identity_usage, stdout);
			return -1;
		default:
			fputs(identity_usage, stderr);
			return CLI_USAGE;
		}
	}
	for (; optind < argc; optind++) {
		if (a->npos >= max_pos) {
			cli_err(c, "unexpected argument '%s'", argv[optind]);
			fputs(identity_usage, stderr);
			return CLI_USAGE;
		}
		a->pos[a->npos++] = argv[optind];
	}
	return 0;
}

#define ALLOW(o) (1u << ((o) - OPT_ALIAS))

static int keystore_dir(cli *c, char *dir, size_t len)
{
	int rc = sg_keystore_dir(dir, len, c->config_dir);
	if (rc != 0)
		cli_err(c, "cannot locate the keystore (set --config-dir or "
			   "SAORSA_GOSSIP_HOME): %s", sg_strerror(rc));
	return rc;
}

static int check_alias(cli *c, const char *alias)
{
	if (alias == NULL) {
		cli_err(c, "an alias is required");
		fputs(identity_usage, stderr);
		return CLI_USAGE;
	}
	if (sg_keystore_alias_check(alias) != 0) {
		cli_err(c, "invalid alias '%s': use 1-%d characters from "
			   "A-Z a-z 0-9 . _ - (not starting with '.')",
			alias, SG_KEYSTORE_ALIAS_MAX);
		return CLI_USAGE;
	}
	return 0;
}

/* The prologue of every subcommand that names an alias: the alias is
 * valid and the keystore can be located. 0, or the exit code to return. */
static int alias_and_dir(cli *c, const char *alias, char *dir, size_t len)
{
	int rc = check_alias(c, alias);
	if (rc != 0)
		return rc;
	return keystore_dir(c, dir, len) != 0 ? CLI_FAIL : 0;
}


/* Reports a keystore error naming the file. */
static int ks_fail(cli *c, const char *dir, const char *alias, int rc)
{
	char path[4096];
	sg_keystore_path(path, sizeof(path), dir, alias);
	if (rc == SG_ERR_NOTFOUND)
		cli_err(c, "no identity '%s' (looked for %s)", alias, path);
	else if (rc == SG_ERR_EXISTS)
		cli_err(c, "identity '%s' already exists (%s); use --force to "
			   "replace it", alias, path);
	else if (rc == SG_ERR_PASSPHRASE)
		cli_err(c, "%s: wrong or missing passphrase", path);
	else if (rc == SG_ERR_CORRUPT)
		cli_err(c, "%s: file is corrupt or truncated (left as it is)",
			path);
	else
		cli_err(c, "%s: %s", path, sg_strerror(rc));
	return CLI_FAIL;
}

static void print_identity(cli *c, const char *verb, const char *alias,
			   const sg_peer_id *id, const char *dir, int sealed)
{
	char hex[SG_PEER_ID_HEX_LEN];

	sg_peer_id_hex(hex, id);
	if (c->json) {
		printf("{\"alias\":");
		cli_json_str(stdout, alias);
		printf(",\"peer_id\":\"%s\",\"sealed\":%s,\"keystore\":", hex,
		       sealed ? "true" : "false");
		cli_json_str(stdout, dir);
		printf("}\n");
		return;
	}
	if (verb != NULL)
		printf("%s identity: %s\n", verb, alias);
	else
		printf("Identity: %s\n", alias);
	printf("  PeerId: %s\n", hex);
	if (sealed)
		printf("  Sealed: yes (passphrase)\n");
	printf("  %s: %s\n", verb != NULL ? "Saved to" : "Keystore", dir);
}

static int cmd_create(cli *c, int argc, char **argv)
{
	args a;
	char dir[4096], *pass = NULL;
	sg_identity *id;
	int rc = parse(c, argc, argv, &a, ALLOW(OPT_ALIAS) | ALLOW(OPT_SEAL) |
				      ALLOW(OPT_FORCE), 0);

	if (rc != 0)
		return rc < 0 ? CLI_OK : rc;
	if ((rc = alias_and_dir(c, a.alias, dir, sizeof(dir))) != 0)
		return rc;
	if (a.seal && (pass = cli_passphrase(c, "New passphrase: ", 1)) == NULL)
		return CLI_FAIL;
	id = malloc(sizeof(*id));
	if (id == NULL) {
		cli_pass_free(pass);
		cli_err(c, "out of memory");
		return CLI_FAIL;
	}
	rc = sg_identity_generate(id, &c->env);
	if (rc == 0)
		rc = sg_keystore_save(dir, a.alias, id, pass, NULL, a.force,
				      &c->env);
	cli_pass_free(pass);
	if (rc == 0) {
		print_identity(c, "Created", a.alias, &id->id, dir, a.seal);
		if (c->verbose)
			fprintf(stderr, "%s: wrote %s/%s.key%s\n", c->prog, dir,
				a.alias,
				a.seal ? " (sealed: Argon2id, "
					 "XChaCha20-Poly1305)" : "");
	}
	else
		ks_fail(c, dir, a.alias, rc);
	sg_identity_wipe(id);
	free(id);
	return rc == 0 ? CLI_OK : CLI_FAIL;
}

static int cmd_list(cli *c, int argc, char **argv)
{
	args a;
	char dir[4096];
	char (*aliases)[SG_KEYSTORE_ALIAS_MAX + 1] = NULL;
	size_t n = 0, i, cap = 0;
	int rc = parse(c, argc, argv, &a, 0, 0), first = 1;

	if (rc != 0)
		return rc < 0 ? CLI_OK : rc;
	if (keystore_dir(c, dir, sizeof(dir)))
		return CLI_FAIL;
	/* Twice: once to count, once to fetch, so any number fits. */
	for (;;) {
		rc = sg_keystore_list(dir, aliases, cap, &n);
		if (rc != 0) {
			cli_err(c, "%s: %s", dir, sg_strerror(rc));
			free(aliases);
			return CLI_FAIL;
		}
		if (n <= cap)
			break;
		free(aliases);
		cap = n;
		aliases = malloc(cap * sizeof(*aliases));
		if (aliases == NULL) {
			cli_err(c, "out of memory");
			return CLI_FAIL;
		}
	}
	if (c->json)
		printf("[");
	else if (n == 0)
		printf("No identities in %s\n", dir);
	for (i = 0; i < n; i++) {
		sg_keystore_info info;
		char hex[SG_PEER_ID_HEX_LEN];
		rc = sg_keystore_info_get(dir, aliases[i], &info);
		if (rc != 0) { /* say so, keep listing the others */
			ks_fail(c, dir, aliases[i], rc);
			continue;
		}
		sg_peer_id_hex(hex, &info.id);
		if (c->json) {
			printf("%s{\"alias\":", first ? "" : ",");
			cli_json_str(stdout, aliases[i]);
			printf(",\"peer_id\":\"%s\",\"sealed\":%s}", hex,
			       info.sealed ? "true" : "false");
		} else {
			printf("%-20s %s%s\n", aliases[i], hex,
			       info.sealed ? "  (sealed)" : "");
		}
		first = 0;
	}
	if (c->json)
		printf("]\n");
	free(aliases);
	return CLI_OK;
}

static int cmd_show(cli *c, int argc, char **argv)
{
	args a;
	char dir[4096];
	sg_keystore_info info;
	int rc = parse(c, argc, argv, &a, 0, 1);

	if (rc != 0)
		return rc < 0 ? CLI_OK : rc;
	if ((rc = alias_and_dir(c, a.pos[0], dir, sizeof(dir))) != 0)
		return rc;
	rc = sg_keystore_info_get(dir, a.pos[0], &info);
	if (rc != 0)
		return ks_fail(c, dir, a.pos[0], rc);
	print_identity(c, NULL, a.pos[0], &info.id, dir, info.sealed);
	return CLI_OK;
}

static int cmd_delete(cli *c, int argc, char **argv)
{
	args a;
	char dir[4096];
	int rc = parse(c, argc, argv, &a, 0, 1);

	if (rc != 0)
		return rc < 0 ? CLI_OK : rc;
	if ((rc = alias_and_dir(c, a.pos[0], dir, sizeof(dir))) != 0)
		return rc;
	rc = sg_keystore_delete(dir, a.pos[0]);
	if (rc != 0)
		return ks_fail(c, dir, a.pos[0], rc);
	if (c->json) {
		printf("{\"deleted\":");
		cli_json_str(stdout, a.pos[0]);
		printf("}\n");
	} else {
		printf("Deleted identity: %s\n", a.pos[0]);
	}
	return CLI_OK;
}

/* "<label>: <hex>\n" */
static size_t put_line(char *out, const char *label, const uint8_t *b,
		       size_t len)
{
	size_t n = (size_t)sprintf(out, "%s: ", label);
	n += (size_t)sg_hex_encode(out + n, 2 * len + 1, b, len);
	out[n++] = '\n';
	return n;
}

static int cmd_export(cli *c, int argc, char **argv)
{
	args a;
	char dir[4096], text[4200];
	sg_keystore_info info;
	size_t n;
	int rc = parse(c, argc, argv, &a, ALLOW(OPT_OUTPUT), 1);

	if (rc != 0)
		return rc < 0 ? CLI_OK : rc;
	if ((rc = alias_and_dir(c, a.pos[0], dir, sizeof(dir))) != 0)
		return rc;
	rc = sg_keystore_info_get(dir, a.pos[0], &info);
	if (rc != 0)
		return ks_fail(c, dir, a.pos[0], rc);
	n = (size_t)sprintf(text, "%s\n", PK_HEADER);
	n += put_line(text + n, "peer-id", info.id.bytes, SG_PEER_ID_LEN);
	n += put_line(text + n, "ml-dsa-65", info.pk, SG_MLDSA65_PK_LEN);
	if (c->json && a.output == NULL) {
		char idhex[SG_PEER_ID_HEX_LEN], pkhex[2 * SG_MLDSA65_PK_LEN + 1];
		sg_peer_id_hex(idhex, &info.id);
		sg_hex_encode(pkhex, sizeof(pkhex), info.pk, SG_MLDSA65_PK_LEN);
		printf("{\"alias\":");
		cli_json_str(stdout, a.pos[0]);
		printf(",\"peer_id\":\"%s\",\"ml_dsa_65\":\"%s\"}\n", idhex,
		       pkhex);
		return CLI_OK;
	}
	if (a.output != NULL) {
		if (cli_write_file(c, a.output, text, n) != 0)
			return CLI_FAIL;
		if (!c->json)
			fprintf(stderr, "Wrote public key of %s to %s\n",
				a.pos[0], a.output);
	} else {
		fwrite(text, 1, n, stdout);
	}
	return CLI_OK;
}

/* Finds "label: HEX" on its own line in text and decodes exactly len
 * bytes. Returns 0 or -1. */
static int get_line(const char *text, const char *label, uint8_t *out,
		    size_t len)
{
	size_t ll = strlen(label);
	const char *p = text;

	while (p != NULL && *p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t linelen = eol ? (size_t)(eol - p) : strlen(p);
		if (linelen > ll + 2 && memcmp(p, label, ll) == 0 &&
		    p[ll] == ':' && p[ll + 1] == ' ') {
			const char *h = p + ll + 2;
			size_t hl = linelen - ll - 2;
			return hl == 2 * len &&
					       sg_hex_decode(out, len, h, hl) ==
						       (long)len
				       ? 0
				       : -1;
		}
		p = eol ? eol + 1 : NULL;
	}
	return -1;
}

static int first_line_is(const char *text, const char *header)
{
	size_t hl = strlen(header);
	return strncmp(text, header, hl) == 0 && text[hl] == '\n';
}

/* mu of FILE for pure ML-DSA with our file context, streamed. */
static int file_mu(cli *c, const char *path, const uint8_t pk[SG_MLDSA65_PK_LEN],
		   uint8_t mu[SG_MLDSA65_MU_LEN], unsigned long long *size)
{
	uint8_t tr[SG_MLDSA65_TR_LEN], buf[65536];
	sg_keccak h;
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL) {
		cli_err(c, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	sg_mldsa65_tr(tr, pk);
	sg_mldsa65_mu_init(&h, tr, (const uint8_t *)SG_CTX_FILE_SIGNATURE,
			   strlen(SG_CTX_FILE_SIGNATURE));
	*size = 0;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		sg_keccak_absorb(&h, buf, n);
		*size += n;
	}
	if (ferror(f)) {
		cli_err(c, "cannot read %s: %s", path, strerror(errno));
		fclose(f);
		return -1;
	}
	fclose(f);
	sg_mldsa65_mu_final(mu, &h);
	return 0;
}

static int cmd_sign(cli *c, int argc, char **argv)
{
	args a;
	char dir[4096], out_path[4200], *pass = NULL, *text = NULL;
	uint8_t mu[SG_MLDSA65_MU_LEN], rnd[32], sig[SG_MLDSA65_SIG_LEN];
	sg_keystore_info info;
	sg_identity *id = NULL;
	unsigned long long size;
	int rc = parse(c, argc, argv, &a, ALLOW(OPT_ALIAS) | ALLOW(OPT_OUTPUT), 1);
	size_t n;

	if (rc != 0)
		return rc < 0 ? CLI_OK : rc;
	if ((rc = alias_and_dir(c, a.alias, dir, sizeof(dir))) != 0)
		return rc;
	if (a.npos != 1) {
		cli_err(c, "which file? (identity sign --alias A FILE)");
		return CLI_USAGE;
	}
	snprintf(out_path, sizeof(out_path), "%s.sig", a.pos[0]);
	if (a.output != NULL)
		snprintf(out_path, sizeof(out_path), "%s", a.output);
	rc = sg_keystore_info_get(dir, a.alias, &info);
	if (rc != 0)
		return ks_fail(c, dir, a.alias, rc);
	if (info.sealed &&
	    (pass = cli_passphrase(c, "Passphrase: ", 0)) == NULL)
		return CLI_FAIL;
	id = malloc(sizeof(*id));
	text = malloc(8192);
	if (id == NULL || text == NULL) {
		cli_err(c, "out of memory");
		rc = CLI_FAIL;
		goto out;
	}
	rc = sg_keystore_load(dir, a.alias, pass, id);
	if (rc != 0) {
		rc = ks_fail(c, dir, a.alias, rc);
		goto out;
	}
	rc = CLI_FAIL;
	if (file_mu(c, a.pos[0], id->pk, mu, &size) != 0)
		goto out;
	if (sg_random(&c->env, rnd, sizeof(rnd)) != 0 ||
	    sg_mldsa65_sign_mu(sig, mu, id->sk, rnd) != 0) {
		cli_err(c, "signing failed");
		goto out;
	}
	n = (size_t)sprintf(text, "%s\n", SIG_HEADER);
	n += put_line(text + n, "signer", id->id.bytes, SG_PEER_ID_LEN);
	n += put_line(text + n, "ml-dsa-65", sig, SG_MLDSA65_SIG_LEN);
	if (cli_write_file(c, out_path, text, n) != 0)
		goto out;
	if (c->json) {
		char hex[SG_PEER_ID_HEX_LEN];
		sg_peer_id_hex(hex, &id->id);
		printf("{\"file\":");
		cli_json_str(stdout, a.pos[0]);
		printf(",\"bytes\":%llu,\"signature\":", size);
		cli_json_str(stdout, out_path);
		printf(",\"signer\":\"%s\"}\n", hex);
	} else {
		printf("Signed %s (%llu bytes) as %s\n  Signature: %s\n",
		       a.pos[0], size, a.alias, out_path);
	}
	rc = CLI_OK;
out:
	cli_pass_free(pass);
	if (id != NULL) {
		sg_identity_wipe(id);
		free(id);
	}
	free(text);
	sg_wipe(rnd, sizeof(rnd));
	return rc;
}

static int cmd_verify(cli *c, int argc, char **argv)
{
	args a;
	char *pk_text = NULL, *sig_text = NULL, hex[SG_PEER_ID_HEX_LEN];
	uint8_t pk[SG_MLDSA65_PK_LEN], sig[SG_MLDSA65_SIG_LEN];
	uint8_t mu[SG_MLDSA65_MU_LEN];
	sg_peer_id claimed, signer, derived;
	unsigned long long size;
	size_t len;
	int rc = parse(c, argc, argv, &a, ALLOW(OPT_PUBLIC) | ALLOW(OPT_SIGNATURE), 1);
	int valid;

	if (rc != 0)
		return rc < 0 ? CLI_OK : rc;
	if (a.public_key == NULL || a.signature == NULL || a.npos != 1) {
		cli_err(c, "usage: identity verify --public KEYFILE "
			   "--signature SIG FILE");
		return CLI_USAGE;
	}
	rc = CLI_FAIL;
	pk_text = cli_read_text(c, a.public_key, 16384, &len);
	sig_text = cli_read_text(c, a.signature, 16384, &len);
	if (pk_text == NULL || sig_text == NULL)
		goto out;
	if (!first_line_is(pk_text, PK_HEADER) ||
	    get_line(pk_text, "peer-id", claimed.bytes, SG_PEER_ID_LEN) ||
	    get_line(pk_text, "ml-dsa-65", pk, sizeof(pk))) {
		cli_err(c, "%s: not a saorsa-gossip public key file",
			a.public_key);
		goto out;
	}
	sg_peer_id_from_pk(&derived, pk);
	if (!sg_peer_id_equal(&claimed, &derived)) {
		cli_err(c, "%s: the peer-id line does not match the key",
			a.public_key);
		goto out;
	}
	if (!first_line_is(sig_text, SIG_HEADER) ||
	    get_line(sig_text, "signer", signer.bytes, SG_PEER_ID_LEN) ||
	    get_line(sig_text, "ml-dsa-65", sig, sizeof(sig))) {
		cli_err(c, "%s: not a saorsa-gossip signature file",
			a.signature);
		goto out;
	}
	if (file_mu(c, a.pos[0], pk, mu, &size) != 0)
		goto out;
	valid = sg_peer_id_equal(&signer, &derived) &&
		sg_mldsa65_verify_mu(sig, sizeof(sig), mu, pk) == 0;
	sg_peer_id_hex(hex, &derived);
	if (c->json) {
		printf("{\"file\":");
		cli_json_str(stdout, a.pos[0]);
		printf(",\"valid\":%s,\"signer\":\"%s\"}\n",
		       valid ? "true" : "false", hex);
	} else if (valid) {
		printf("Good signature on %s\n  Signer: %s\n", a.pos[0], hex);
	} else if (!sg_peer_id_equal(&signer, &derived)) {
		fprintf(stderr, "BAD signature on %s: made by a different "
				"key than %s\n", a.pos[0], a.public_key);
	} else {
		fprintf(stderr, "BAD signature on %s (key %s)\n", a.pos[0], hex);
	}
	rc = valid ? CLI_OK : CLI_FAIL;
out:
	free(pk_text);
	free(sig_text);
	return rc;
}

int cli_identity(cli *c, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(cli *, int, char **);
	} cmds[] = {
		{"create", cmd_create}, {"list", cmd_list},
		{"show", cmd_show},     {"delete", cmd_delete},
		{"export", cmd_export}, {"sign", cmd_sign},
		{"verify", cmd_verify},
	};
	size_t i;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(identity_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(c, argc - 1, argv + 1);
	cli_err(c, "unknown identity subcommand '%s'", argv[1]);
	fputs(identity_usage, stderr);
	return CLI_USAGE;
}

int cli_load_identity(cli *c, const char *alias, sg_identity *out)
{
	char dir[4096], *pass = NULL;
	sg_keystore_info info;
	int rc;

	if ((rc = alias_and_dir(c, alias, dir, sizeof(dir))) != 0)
		return rc;
	rc = sg_keystore_info_get(dir, alias, &info);
	if (rc != 0)
		return ks_fail(c, dir, alias, rc);
	if (info.sealed &&
	    (pass = cli_passphrase(c, "Passphrase: ", 0)) == NULL)
		return CLI_FAIL;
	rc = sg_keystore_load(dir, alias, pass, out);
	cli_pass_free(pass);
	return rc != 0 ? ks_fail(c, dir, alias, rc) : 0;
}

int cli_identity_at(cli *c, const char *path, sg_identity *out, int *created)
{
	char dir[4096], alias[256];
	const char *slash = strrchr(path, '/'), *base;
	size_t blen;
	int rc;

	*created = 0;
	base = slash != NULL ? slash + 1 : path;
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	blen = strlen(base);
	if (blen > 4 && strcmp(base + blen - 4, ".key") == 0)
		blen -= 4;
	snprintf(alias, sizeof(alias), "%.*s", (int)blen, base);
	if (sg_keystore_alias_check(alias) != 0) {
		cli_err(c, "identity path %s: the file name must be 1-%d "
			   "characters from A-Z a-z 0-9 . _ - (then .key)",
			path, SG_KEYSTORE_ALIAS_MAX);
		return CLI_USAGE;
	}
	rc = sg_keystore_load(dir, alias, getenv("SAORSA_GOSSIP_PASSPHRASE"),
			      out);
	if (rc == SG_ERR_NOTFOUND) {
		if ((rc = sg_identity_generate(out, &c->env)) == 0)
			rc = sg_keystore_save(dir, alias, out, NULL, NULL, 0,
					      &c->env);
		if (rc != 0) {
			cli_err(c, "cannot create identity %s: %s", path,
				sg_strerror(rc));
			return CLI_FAIL;
		}
		*created = 1;
		return 0;
	}
	return rc != 0 ? ks_fail(c, dir, alias, rc) : 0;
}
