/*
 * The keystore: one file per identity alias in a 0700 directory (default
 * ~/.saorsa-gossip/keystore, or $SAORSA_GOSSIP_HOME/keystore, or
 * <config-dir>/keystore). Files are 0600, written atomically (temporary
 * file, fsync, rename or link, fsync of the directory), versioned and
 * checksummed, and may be sealed with a passphrase (Argon2id +
 * XChaCha20-Poly1305; the whole header is the AEAD's associated data).
 * The public key and PeerId stay readable without the passphrase. The file
 * format is in docs/PROTOCOL.md ("Keystore file").
 */
#ifndef SG_KEYSTORE_H
#define SG_KEYSTORE_H

#include "common.h"
#include "env.h"
#include "identity.h"

#define SG_KEYSTORE_ALIAS_MAX 64

/* Argon2id cost. Values read from a file are capped (opslimit <= 10,
 * memlimit <= 1 GiB) so a crafted file cannot make loading hang. */
typedef struct sg_kdf_params {
	uint32_t opslimit;
	uint32_t memlimit_kib;
} sg_kdf_params;
#define SG_KDF_DEFAULT_OPSLIMIT 3
#define SG_KDF_DEFAULT_MEMLIMIT_KIB (64u * 1024u)

typedef struct sg_keystore_info {
	char alias[SG_KEYSTORE_ALIAS_MAX + 1];
	sg_peer_id id;
	uint8_t pk[SG_MLDSA65_PK_LEN];
	int sealed;
} sg_keystore_info;

/* The config directory: config_dir if given, else $SAORSA_GOSSIP_HOME, else
 * $HOME/.saorsa-gossip. SG_ERR_BUFSIZE, SG_ERR_NOTFOUND (no HOME). */
SG_API int sg_config_dir(char *out, size_t out_len, const char *config_dir);
/* <config dir>/keystore. */
SG_API int sg_keystore_dir(char *out, size_t out_len, const char *config_dir);
/* Aliases are 1-64 characters from [A-Za-z0-9._-], not starting with '.'.
 * Returns 0 or SG_ERR_INVAL. */
SG_API int sg_keystore_alias_check(const char *alias);
/* The file that holds alias. */
SG_API int sg_keystore_path(char *out, size_t out_len, const char *dir,
			    const char *alias);

/* Writes id under alias (creating dir, 0700, if needed). passphrase NULL:
 * unsealed. kdf NULL: the defaults. Without force an existing alias is
 * never replaced (SG_ERR_EXISTS). Errors: SG_ERR_INVAL, SG_ERR_EXISTS,
 * SG_ERR_IO, SG_ERR_PERM, SG_ERR_NOMEM (Argon2id memory), SG_ERR_RANGE. */
SG_API int sg_keystore_save(const char *dir, const char *alias,
			    const sg_identity *id, const char *passphrase,
			    const sg_kdf_params *kdf, int force,
			    const sg_env *env);
/* Reads and checks alias. Errors: SG_ERR_NOTFOUND, SG_ERR_CORRUPT
 * (truncated, bad magic or checksum, key does not match its PeerId),
 * SG_ERR_UNSUPPORTED (newer format version), SG_ERR_PASSPHRASE (sealed and
 * no or a wrong passphrase), SG_ERR_IO, SG_ERR_PERM. */
SG_API int sg_keystore_load(const char *dir, const char *alias,
			    const char *passphrase, sg_identity *out);
/* The public part, without the passphrase. Same errors as load but
 * SG_ERR_PASSPHRASE. */
SG_API int sg_keystore_info_get(const char *dir, const char *alias,
				sg_keystore_info *out);
/* Aliases in dir, sorted; *count gets the total even when it exceeds max.
 * A missing dir is an empty keystore. */
SG_API int sg_keystore_list(const char *dir,
			    char (*aliases)[SG_KEYSTORE_ALIAS_MAX + 1],
			    size_t max, size_t *count);
/* Removes alias. SG_ERR_NOTFOUND, SG_ERR_IO. */
SG_API int sg_keystore_delete(const char *dir, const char *alias);

#endif
