/*
 * Keystore files (format in docs/PROTOCOL.md, "Keystore file"): one per
 * alias, 0600 in a 0700 directory, written atomically, checksummed with
 * BLAKE3, optionally sealed with Argon2id + XChaCha20-Poly1305 (libsodium)
 * with the header as associated data. Loading checks everything before it
 * trusts anything and never modifies the file.
 */
#define _POSIX_C_SOURCE 200809L
#include "sg/keystore.h"
#include "sg/blake3.h"
#include "sg/err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "SGIDKEY\n"
#define MAGIC_LEN 8
#define VERSION 1
#define FLAG_SEALED 1u
#define SALT_LEN 16
#define NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_LEN crypto_aead_xchacha20poly1305_ietf_ABYTES
#define SUM_LEN 32

/* Offsets of the fixed header (big-endian integers). */
#define OFF_VERSION 8
#define OFF_FLAGS 10
#define OFF_OPS 12
#define OFF_MEM 16
#define OFF_SALT 20
#define OFF_ID (OFF_SALT + SALT_LEN)
#define OFF_PK (OFF_ID + SG_PEER_ID_LEN)
#define OFF_NONCE (OFF_PK + SG_MLDSA65_PK_LEN)
#define OFF_BODY_LEN (OFF_NONCE + NONCE_LEN)
#define HEADER_LEN (OFF_BODY_LEN + 2)
#define BODY_PLAIN SG_IDENTITY_SEED_LEN
#define FILE_MAX (HEADER_LEN + BODY_PLAIN + TAG_LEN + SUM_LEN)

#define KDF_MAX_OPS 10u
#define KDF_MAX_MEM_KIB (1024u * 1024u)

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static int errno_err(int e)
{
	switch (e) {
	case ENOENT:
		return SG_ERR_NOTFOUND;
	case EEXIST:
		return SG_ERR_EXISTS;
	case EACCES:
	case EPERM:
		return SG_ERR_PERM;
	case ENOMEM:
		return SG_ERR_NOMEM;
	default:
		return SG_ERR_IO;
	}
}

int sg_config_dir(char *out, size_t out_len, const char *config_dir)
{
	const char *home;
	int n;

	if (config_dir != NULL && config_dir[0] != '\0') {
		n = snprintf(out, out_len, "%s", config_dir);
	} else if ((home = getenv("SAORSA_GOSSIP_HOME")) != NULL &&
		   home[0] != '\0') {
		n = snprintf(out, out_len, "%s", home);
	} else if ((home = getenv("HOME")) != NULL && home[0] != '\0') {
		n = snprintf(out, out_len, "%s/.saorsa-gossip", home);
	} else {
		return SG_ERR_NOTFOUND;
	}
	return n < 0 || (size_t)n >= out_len ? SG_ERR_BUFSIZE : 0;
}

int sg_keystore_dir(char *out, size_t out_len, const char *config_dir)
{
	char base[4096];
	int rc = sg_config_dir(base, sizeof(base), config_dir), n;

	if (rc != 0)
		return rc;
	n = snprintf(out, out_len, "%s/keystore", base);
	return n < 0 || (size_t)n >= out_len ? SG_ERR_BUFSIZE : 0;
}

int sg_keystore_alias_check(const char *alias)
{
	size_t i, len;

	if (alias == NULL)
		return SG_ERR_INVAL;
	len = strlen(alias);
	if (len == 0 || len > SG_KEYSTORE_ALIAS_MAX || alias[0] == '.')
		return SG_ERR_INVAL;
	for (i = 0; i < len; i++) {
		char c = alias[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return SG_ERR_INVAL;
	}
	return 0;
}

int sg_keystore_path(char *out, size_t out_len, const char *dir,
		     const char *alias)
{
	int n;

	if (sg_keystore_alias_check(alias) != 0)
		return SG_ERR_INVAL;
	n = snprintf(out, out_len, "%s/%s.key", dir, alias);
	return n < 0 || (size_t)n >= out_len ? SG_ERR_BUFSIZE : 0;
}

/* mkdir -p with mode 0700 for every component we create. */
static int make_dirs(const char *dir)
{
	char tmp[4096];
	size_t i, len = strlen(dir);
	struct stat st;

	if (len == 0 || len >= sizeof(tmp))
		return SG_ERR_INVAL;
	memcpy(tmp, dir, len + 1);
	for (i = 1; i <= len; i++) {
		if (tmp[i] != '/' && tmp[i] != '\0')
			continue;
		tmp[i] = '\0';
		if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
			return errno_err(errno);
		tmp[i] = i == len ? '\0' : '/';
	}
	if (stat(dir, &st) != 0)
		return errno_err(errno);
	if (!S_ISDIR(st.st_mode))
		return SG_ERR_IO;
	/* The keystore holds secrets: nobody else may list or enter it. */
	if ((st.st_mode & 077) != 0 && chmod(dir, 0700) != 0)
		return errno_err(errno);
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno_err(errno);
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	int rc = 0;

	if (fd < 0)
		return errno_err(errno);
	if (fsync(fd) != 0)
		rc = errno_err(errno);
	close(fd);
	return rc;
}

static int derive_key(uint8_t key[32], const char *passphrase,
		      const uint8_t salt[SALT_LEN], uint32_t ops,
		      uint32_t mem_kib)
{
	if (crypto_pwhash(key, 32, passphrase, strlen(passphrase), salt, ops,
			  (size_t)mem_kib * 1024u,
			  crypto_pwhash_ALG_ARGON2ID13) != 0)
		return SG_ERR_NOMEM; /* libsodium fails only for memory */
	return 0;
}

int sg_keystore_save(const char *dir, const char *alias, const sg_identity *id,
		     const char *passphrase, const sg_kdf_params *kdf,
		     int force, const sg_env *env)
{
	uint8_t file[FILE_MAX], key[32];
	char path[4096], tmp[4200];
	size_t body_len, len;
	uint32_t ops = SG_KDF_DEFAULT_OPSLIMIT, mem = SG_KDF_DEFAULT_MEMLIMIT_KIB;
	int fd, rc;

	rc = sg_keystore_path(path, sizeof(path), dir, alias);
	if (rc != 0)
		return rc;
	if (kdf != NULL) {
		ops = kdf->opslimit;
		mem = kdf->memlimit_kib;
	}
	if (passphrase != NULL &&
	    (ops < crypto_pwhash_OPSLIMIT_MIN || ops > KDF_MAX_OPS ||
	     (size_t)mem * 1024u < crypto_pwhash_MEMLIMIT_MIN ||
	     mem > KDF_MAX_MEM_KIB))
		return SG_ERR_RANGE;
	rc = make_dirs(dir);
	if (rc != 0)
		return rc;

	memset(file, 0, sizeof(file));
	memcpy(file, MAGIC, MAGIC_LEN);
	put16(file + OFF_VERSION, VERSION);
	memcpy(file + OFF_ID, id->id.bytes, SG_PEER_ID_LEN);
	memcpy(file + OFF_PK, id->pk, SG_MLDSA65_PK_LEN);
	if (passphrase != NULL) {
		put16(file + OFF_FLAGS, FLAG_SEALED);
		put32(file + OFF_OPS, ops);
		put32(file + OFF_MEM, mem);
		rc = sg_random(env, file + OFF_SALT, SALT_LEN);
		if (rc == 0)
			rc = sg_random(env, file + OFF_NONCE, NONCE_LEN);
		if (rc != 0)
			return rc;
		body_len = BODY_PLAIN + TAG_LEN;
		put16(file + OFF_BODY_LEN, (uint32_t)body_len);
		rc = derive_key(key, passphrase, file + OFF_SALT, ops, mem);
		if (rc != 0)
			return rc;
		crypto_aead_xchacha20poly1305_ietf_encrypt(
			file + HEADER_LEN, NULL, id->seed, BODY_PLAIN, file,
			HEADER_LEN, NULL, file + OFF_NONCE, key);
		sg_wipe(key, sizeof(key));
	} else {
		body_len = BODY_PLAIN;
		put16(file + OFF_BODY_LEN, (uint32_t)body_len);
		memcpy(file + HEADER_LEN, id->seed, BODY_PLAIN);
	}
	len = HEADER_LEN + body_len;
	sg_blake3(file + len, file, len);
	len += SUM_LEN;

	snprintf(tmp, sizeof(tmp), "%s/.%s.key.tmp.%ld", dir, alias,
		 (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0) {
		rc = errno_err(errno);
		goto out;
	}
	rc = write_all(fd, file, len);
	if (rc == 0 && fsync(fd) != 0)
		rc = errno_err(errno);
	if (close(fd) != 0 && rc == 0)
		rc = errno_err(errno);
	if (rc == 0) {
		/* link() refuses to replace an existing file, atomically. */
		if (force ? rename(tmp, path) != 0 : link(tmp, path) != 0)
			rc = errno_err(errno);
	}
	unlink(tmp); /* after rename it is gone already */
	if (rc == 0)
		rc = fsync_dir(dir);
out:
	sg_wipe(file, sizeof(file));
	return rc;
}

/* Reads and structurally checks a file into buf; *len, *sealed out. */
static int read_file(const char *dir, const char *alias, uint8_t *buf,
		     size_t *len)
{
	char path[4096];
	struct stat st;
	size_t got = 0;
	int fd, rc;

	rc = sg_keystore_path(path, sizeof(path), dir, alias);
	if (rc != 0)
		return rc;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno_err(errno);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return SG_ERR_CORRUPT;
	}
	/* Read at most FILE_MAX + 1 so an oversized file is noticed. */
	while (got <= FILE_MAX) {
		ssize_t n = read(fd, buf + got, FILE_MAX + 1 - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = errno_err(errno);
			close(fd);
			return rc;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return 0;
}

/* Checks magic, version, lengths and the checksum. */
static int parse(const uint8_t *buf, size_t len, int *sealed)
{
	uint8_t sum[SUM_LEN];
	uint32_t flags, body_len;

	if (len < HEADER_LEN || memcmp(buf, MAGIC, MAGIC_LEN) != 0)
		return SG_ERR_CORRUPT;
	if (get16(buf + OFF_VERSION) > VERSION)
		return SG_ERR_UNSUPPORTED;
	if (get16(buf + OFF_VERSION) != VERSION)
		return SG_ERR_CORRUPT;
	flags = get16(buf + OFF_FLAGS);
	if ((flags & ~FLAG_SEALED) != 0)
		return SG_ERR_CORRUPT;
	*sealed = (flags & FLAG_SEALED) != 0;
	body_len = get16(buf + OFF_BODY_LEN);
	if (body_len != (*sealed ? BODY_PLAIN + TAG_LEN : BODY_PLAIN) ||
	    len != HEADER_LEN + body_len + SUM_LEN)
		return SG_ERR_CORRUPT;
	sg_blake3(sum, buf, HEADER_LEN + body_len);
	if (memcmp(sum, buf + HEADER_LEN + body_len, SUM_LEN) != 0)
		return SG_ERR_CORRUPT;
	return 0;
}

/* read_file() then parse(): the file's bytes, checked. */
static int read_checked(const char *dir, const char *alias, uint8_t *buf,
			size_t *len, int *sealed)
{
	int rc = read_file(dir, alias, buf, len);
	return rc != 0 ? rc : parse(buf, *len, sealed);
}

int sg_keystore_info_get(const char *dir, const char *alias,
			 sg_keystore_info *out)
{
	uint8_t buf[FILE_MAX + 1];
	sg_peer_id derived;
	size_t len;
	int sealed, rc;

	rc = read_checked(dir, alias, buf, &len, &sealed);
	if (rc != 0)
		goto out;
	sg_peer_id_from_pk(&derived, buf + OFF_PK);
	if (memcmp(derived.bytes, buf + OFF_ID, SG_PEER_ID_LEN) != 0) {
		rc = SG_ERR_CORRUPT;
		goto out;
	}
	memset(out, 0, sizeof(*out));
	snprintf(out->alias, sizeof(out->alias), "%s", alias);
	out->id = derived;
	memcpy(out->pk, buf + OFF_PK, SG_MLDSA65_PK_LEN);
	out->sealed = sealed;
out:
	sg_wipe(buf, sizeof(buf));
	return rc;
}

int sg_keystore_load(const char *dir, const char *alias,
		     const char *passphrase, sg_identity *out)
{
	uint8_t buf[FILE_MAX + 1], seed[SG_IDENTITY_SEED_LEN], key[32];
	size_t len;
	int sealed, rc;

	rc = read_checked(dir, alias, buf, &len, &sealed);
	if (rc != 0)
		goto out;
	if (sealed) {
		uint32_t ops = get32(buf + OFF_OPS), mem = get32(buf + OFF_MEM);
		if (ops < crypto_pwhash_OPSLIMIT_MIN || ops > KDF_MAX_OPS ||
		    (size_t)mem * 1024u < crypto_pwhash_MEMLIMIT_MIN ||
		    mem > KDF_MAX_MEM_KIB) {
			rc = SG_ERR_CORRUPT;
			goto out;
		}
		if (passphrase == NULL) {
			rc = SG_ERR_PASSPHRASE;
			goto out;
		}
		rc = derive_key(key, passphrase, buf + OFF_SALT, ops, mem);
		if (rc != 0)
			goto out;
		if (crypto_aead_xchacha20poly1305_ietf_decrypt(
			    seed, NULL, NULL, buf + HEADER_LEN,
			    BODY_PLAIN + TAG_LEN, buf, HEADER_LEN,
			    buf + OFF_NONCE, key) != 0)
			rc = SG_ERR_PASSPHRASE;
		sg_wipe(key, sizeof(key));
		if (rc != 0)
			goto out;
	} else {
		memcpy(seed, buf + HEADER_LEN, BODY_PLAIN);
	}
	rc = sg_identity_from_seed(out, seed);
	if (rc != 0)
		goto out;
	/* The clear public key and PeerId must be the seed's. */
	if (memcmp(out->pk, buf + OFF_PK, SG_MLDSA65_PK_LEN) != 0 ||
	    memcmp(out->id.bytes, buf + OFF_ID, SG_PEER_ID_LEN) != 0) {
		sg_identity_wipe(out);
		rc = SG_ERR_CORRUPT;
	}
out:
	sg_wipe(seed, sizeof(seed));
	sg_wipe(buf, sizeof(buf));
	return rc;
}

static int cmp_alias(const void *a, const void *b)
{
	return strcmp(a, b);
}

int sg_keystore_list(const char *dir,
		     char (*aliases)[SG_KEYSTORE_ALIAS_MAX + 1], size_t max,
		     size_t *count)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	*count = 0;
	if (d == NULL)
		return errno == ENOENT ? 0 : errno_err(errno);
	while ((e = readdir(d)) != NULL) {
		char name[SG_KEYSTORE_ALIAS_MAX + 1];
		size_t len = strlen(e->d_name);
		if (len <= 4 || strcmp(e->d_name + len - 4, ".key") != 0 ||
		    len - 4 > SG_KEYSTORE_ALIAS_MAX)
			continue;
		memcpy(name, e->d_name, len - 4);
		name[len - 4] = '\0';
		if (sg_keystore_alias_check(name) != 0)
			continue;
		if (n < max)
			memcpy(aliases[n], name, len - 3);
		n++;
	}
	closedir(d);
	if (n > 0 && max > 0)
		qsort(aliases, n < max ? n : max, sizeof(aliases[0]), cmp_alias);
	*count = n;
	return 0;
}

int sg_keystore_delete(const char *dir, const char *alias)
{
	char path[4096];
	int rc = sg_keystore_path(path, sizeof(path), dir, alias);

	if (rc != 0)
		return rc;
	if (unlink(path) != 0)
		return errno_err(errno);
	return fsync_dir(dir);
}
