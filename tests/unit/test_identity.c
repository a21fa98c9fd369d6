/*
 * Identities and the keystore: derivations, hex forms, save/load (plain and
 * sealed), no silent replacement, every truncation and every flipped byte of
 * a file rejected without touching the file, capped Argon2id parameters,
 * future versions, permissions, listing and deletion.
 */
#include "testutil.h"
#include "sg/blake3.h"
#include "sg/err.h"
#include "sg/keystore.h"

#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const sg_kdf_params fast_kdf = {1, 8 * 1024};
static char base[256], dir[300];

static int setup(void **state)
{
	char tmpl[] = "/tmp/sg-keystore-XXXXXX";
	(void)state;
	assert_non_null(mkdtemp(tmpl));
	snprintf(base, sizeof(base), "%s", tmpl);
	snprintf(dir, sizeof(dir), "%s/ks", tmpl);
	return 0;
}

static int teardown(void **state)
{
	char cmd[600];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static void make_identity(sg_identity *id, uint8_t fill)
{
	uint8_t seed[32];
	memset(seed, fill, sizeof(seed));
	assert_int_equal(sg_identity_from_seed(id, seed), 0);
}

static void test_derivations(void **state)
{
	static sg_identity a, b;
	sg_peer_id pid, parsed;
	sg_topic_id t1, t2;
	uint8_t expect[32];
	char hex[SG_PEER_ID_HEX_LEN], shorthex[SG_PEER_ID_SHORT_HEX_LEN];
	(void)state;

	make_identity(&a, 1);
	make_identity(&b, 1);
	assert_memory_equal(&a, &b, sizeof(a)); /* deterministic */
	sg_blake3_derive_key(expect, 32, SG_CTX_PEER_ID, a.pk, sizeof(a.pk));
	assert_memory_equal(a.id.bytes, expect, 32);
	sg_peer_id_from_pk(&pid, a.pk);
	assert_true(sg_peer_id_equal(&pid, &a.id));
	make_identity(&b, 2);
	assert_false(sg_peer_id_equal(&a.id, &b.id));
	/* The two key pairs come from differently labelled seeds. */
	assert_memory_not_equal(a.pk, b.pk, 64);

	sg_peer_id_hex(hex, &a.id);
	assert_int_equal(strlen(hex), 64);
	sg_peer_id_short(shorthex, &a.id);
	assert_int_equal(strlen(shorthex), 16);
	assert_memory_equal(hex, shorthex, 16);
	assert_int_equal(sg_peer_id_parse(&parsed, hex, 64), 0);
	assert_true(sg_peer_id_equal(&parsed, &a.id));
	assert_int_equal(sg_peer_id_parse(&parsed, hex, 63), SG_ERR_MALFORMED);
	hex[5] = 'z';
	assert_int_equal(sg_peer_id_parse(&parsed, hex, 64), SG_ERR_MALFORMED);

	sg_topic_id_from_name(&t1, "chat", 4);
	sg_topic_id_from_name(&t2, "chat", 4);
	assert_memory_equal(&t1, &t2, sizeof(t1));
	sg_topic_id_from_name(&t2, "chat2", 5);
	assert_memory_not_equal(&t1, &t2, sizeof(t1));
	/* A topic named like a key does not collide with its PeerId. */
	sg_topic_id_from_name(&t2, (const char *)a.pk, sizeof(a.pk));
	assert_memory_not_equal(t2.bytes, a.id.bytes, 32);
	sg_identity_wipe(&a);
	assert_int_equal(a.seed[0], 0);
}

/* sg_identity_sign gives the same signature with and without the expanded
 * key; expanding is idempotent, fails cleanly without memory, and wiping
 * the identity frees the expansion (counted by the test allocator). */
static void test_expanded_signing(void **state)
{
	static sg_identity id;
	static const uint8_t msg[] = "expanded", ctx[] = "sg-test";
	uint8_t rnd[32], s1[SG_MLDSA65_SIG_LEN], s2[SG_MLDSA65_SIG_LEN];
	sg_test_env t, oom;
	(void)state;

	memset(rnd, 0x3c, sizeof(rnd));
	make_identity(&id, 21);
	assert_null(id.xsk);
	assert_int_equal(
	    sg_identity_sign(&id, s1, msg, sizeof(msg), ctx, sizeof(ctx), rnd),
	    0);

	sg_test_env_init(&oom, 1, 0);
	assert_int_equal(sg_identity_expand(&id, &oom.env), SG_ERR_NOMEM);
	assert_null(id.xsk);

	sg_test_env_init(&t, 1, -1);
	assert_int_equal(sg_identity_expand(&id, &t.env), 0);
	assert_non_null(id.xsk);
	assert_int_equal(sg_identity_expand(&id, &t.env), 0);
	assert_int_equal(t.allocs, 1);
	assert_int_equal(
	    sg_identity_sign(&id, s2, msg, sizeof(msg), ctx, sizeof(ctx), rnd),
	    0);
	assert_memory_equal(s1, s2, sizeof(s1));
	assert_int_equal(sg_mldsa65_verify(s2, sizeof(s2), msg, sizeof(msg),
					   ctx, sizeof(ctx), id.pk),
			 0);
	/* Deterministic signing (rnd NULL) agrees as well. */
	assert_int_equal(
	    sg_identity_sign(&id, s2, msg, sizeof(msg), NULL, 0, NULL), 0);
	assert_int_equal(
	    sg_mldsa65_sign(s1, msg, sizeof(msg), NULL, 0, id.sk, NULL), 0);
	assert_memory_equal(s1, s2, sizeof(s1));

	sg_identity_wipe(&id);
	assert_int_equal(t.frees, 1);
	assert_null(id.xsk);
	/* A re-derived identity starts unexpanded. */
	make_identity(&id, 21);
	assert_null(id.xsk);
	sg_identity_wipe(&id);
}

static void test_save_load(void **state)
{
	static sg_identity id, back;
	sg_test_env t;
	sg_keystore_info info;
	struct stat st;
	char path[512];
	(void)state;

	sg_test_env_init(&t, 3, -1);
	make_identity(&id, 7);
	assert_int_equal(sg_keystore_save(dir, "alice", &id, NULL, NULL, 0,
					  &t.env), 0);
	assert_int_equal(sg_keystore_load(dir, "alice", NULL, &back), 0);
	assert_memory_equal(&id, &back, sizeof(id));
	assert_int_equal(sg_keystore_info_get(dir, "alice", &info), 0);
	assert_false(info.sealed);
	assert_true(sg_peer_id_equal(&info.id, &id.id));
	assert_memory_equal(info.pk, id.pk, sizeof(id.pk));

	/* Permissions: 0700 directory, 0600 file. */
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(sg_keystore_path(path, sizeof(path), dir, "alice"), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* Never replaced without force. */
	make_identity(&back, 8);
	assert_int_equal(sg_keystore_save(dir, "alice", &back, NULL, NULL, 0,
					  &t.env), SG_ERR_EXISTS);
	assert_int_equal(sg_keystore_info_get(dir, "alice", &info), 0);
	assert_true(sg_peer_id_equal(&info.id, &id.id));
	assert_int_equal(sg_keystore_save(dir, "alice", &back, NULL, NULL, 1,
					  &t.env), 0);
	assert_int_equal(sg_keystore_info_get(dir, "alice", &info), 0);
	assert_true(sg_peer_id_equal(&info.id, &back.id));

	/* No temporary files left behind. */
	{
		DIR *d = opendir(dir);
		struct dirent *e;
		int files = 0;
		while ((e = readdir(d)) != NULL)
			if (e->d_name[0] != '.' || strstr(e->d_name, "tmp"))
				files++;
		closedir(d);
		assert_int_equal(files, 1);
	}
	assert_int_equal(sg_keystore_load(dir, "nobody", NULL, &back),
			 SG_ERR_NOTFOUND);
	assert_int_equal(sg_keystore_save(dir, "../evil", &id, NULL, NULL, 0,
					  &t.env), SG_ERR_INVAL);
}

static void test_sealed(void **state)
{
	static sg_identity id, back;
	sg_test_env t;
	sg_keystore_info info;
	(void)state;

	sg_test_env_init(&t, 4, -1);
	make_identity(&id, 9);
	assert_int_equal(sg_keystore_save(dir, "sealed", &id, "hunter2",
					  &fast_kdf, 0, &t.env), 0);
	assert_int_equal(sg_keystore_info_get(dir, "sealed", &info), 0);
	assert_true(info.sealed);
	assert_true(sg_peer_id_equal(&info.id, &id.id));
	assert_int_equal(sg_keystore_load(dir, "sealed", NULL, &back),
			 SG_ERR_PASSPHRASE);
	assert_int_equal(sg_keystore_load(dir, "sealed", "hunter3", &back),
			 SG_ERR_PASSPHRASE);
	assert_int_equal(sg_keystore_load(dir, "sealed", "hunter2", &back), 0);
	assert_memory_equal(&id, &back, sizeof(id));
	/* Absurd cost parameters are refused when writing. */
	{
		sg_kdf_params bad = {1000, 8 * 1024};
		assert_int_equal(sg_keystore_save(dir, "x", &id, "p", &bad, 0,
						  &t.env), SG_ERR_RANGE);
	}
}

static uint8_t *slurp(const char *path, size_t *len)
{
	return (uint8_t *)sg_test_read_file(path, len);
}

static void spit(const char *path, const uint8_t *b, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(b, 1, len, f), len);
	fclose(f);
}

/* Every truncation and every single flipped byte of a plain and a sealed
 * file fails cleanly, and the file is left as it was. */
static void test_damaged_files(void **state)
{
	static sg_identity id, back;
	const char *aliases[2] = {"plain", "sealed"};
	sg_test_env t;
	int k;
	(void)state;

	sg_test_env_init(&t, 5, -1);
	make_identity(&id, 10);
	assert_int_equal(sg_keystore_save(dir, "plain", &id, NULL, NULL, 1,
					  &t.env), 0);
	assert_int_equal(sg_keystore_save(dir, "sealed", &id, "pw", &fast_kdf,
					  1, &t.env), 0);
	for (k = 0; k < 2; k++) {
		char path[512];
		size_t len, cut, i, len2;
		uint8_t *orig, *now;
		sg_keystore_path(path, sizeof(path), dir, aliases[k]);
		orig = slurp(path, &len);
		for (cut = 0; cut < len; cut += (cut < 64 ? 1 : 97)) {
			spit(path, orig, cut);
			assert_int_equal(sg_keystore_load(dir, aliases[k], "pw",
							  &back), SG_ERR_CORRUPT);
			now = slurp(path, &len2);
			assert_int_equal(len2, cut);
			free(now);
		}
		for (i = 0; i < len; i += (i < 40 || i > len - 80 ? 1 : 61)) {
			uint8_t *bad = malloc(len);
			int rc;
			memcpy(bad, orig, len);
			bad[i] ^= 0x20;
			spit(path, bad, len);
			rc = sg_keystore_load(dir, aliases[k], "pw", &back);
			/* The version field is the only byte that can read
			 * as "newer format" instead of damage. */
			assert_true(rc == SG_ERR_CORRUPT ||
				    rc == SG_ERR_UNSUPPORTED);
			now = slurp(path, &len2);
			assert_memory_equal(now, bad, len);
			free(now);
			free(bad);
		}
		/* Appending a byte is damage too. */
		{
			uint8_t *longer = malloc(len + 1);
			memcpy(longer, orig, len);
			longer[len] = 0;
			spit(path, longer, len + 1);
			assert_int_equal(sg_keystore_load(dir, aliases[k], "pw",
							  &back), SG_ERR_CORRUPT);
			free(longer);
		}
		spit(path, orig, len);
		assert_int_equal(sg_keystore_load(dir, aliases[k], "pw", &back),
				 0);
		free(orig);
	}
}

/* A file with a valid checksum but huge Argon2id costs, or a future
 * version, is refused before any work. */
static void test_crafted_headers(void **state)
{
	static sg_identity id, back;
	sg_test_env t;
	char path[512];
	size_t len;
	uint8_t *b;
	(void)state;

	sg_test_env_init(&t, 6, -1);
	make_identity(&id, 11);
	assert_int_equal(sg_keystore_save(dir, "crafted", &id, "pw", &fast_kdf,
					  1, &t.env), 0);
	sg_keystore_path(path, sizeof(path), dir, "crafted");
	b = slurp(path, &len);
	/* opslimit at offset 12 (big-endian): 1,000,000 iterations. */
	b[12] = 0x00; b[13] = 0x0f; b[14] = 0x42; b[15] = 0x40;
	sg_blake3(b + len - 32, b, len - 32);
	spit(path, b, len);
	assert_int_equal(sg_keystore_load(dir, "crafted", "pw", &back),
			 SG_ERR_CORRUPT);
	/* Version 2 with a good checksum: a newer format, not damage. */
	free(b);
	assert_int_equal(sg_keystore_save(dir, "crafted", &id, NULL, NULL, 1,
					  &t.env), 0);
	b = slurp(path, &len);
	b[9] = 2;
	sg_blake3(b + len - 32, b, len - 32);
	spit(path, b, len);
	assert_int_equal(sg_keystore_load(dir, "crafted", NULL, &back),
			 SG_ERR_UNSUPPORTED);
	/* A public key that does not match the stored PeerId. */
	b[9] = 1;
	b[36 + 32 + 5] ^= 1;
	sg_blake3(b + len - 32, b, len - 32);
	spit(path, b, len);
	{
		sg_keystore_info info;
		assert_int_equal(sg_keystore_info_get(dir, "crafted", &info),
				 SG_ERR_CORRUPT);
	}
	assert_int_equal(sg_keystore_load(dir, "crafted", NULL, &back),
			 SG_ERR_CORRUPT);
	free(b);
}

static void test_list_delete_alias(void **state)
{
	static sg_identity id;
	char names[8][SG_KEYSTORE_ALIAS_MAX + 1];
	size_t n, i;
	sg_test_env t;
	char sub[400];
	(void)state;

	snprintf(sub, sizeof(sub), "%s-list", dir);
	assert_int_equal(sg_keystore_list(sub, names, 8, &n), 0);
	assert_int_equal(n, 0); /* missing directory: empty */
	sg_test_env_init(&t, 7, -1);
	make_identity(&id, 12);
	assert_int_equal(sg_keystore_save(sub, "zed", &id, NULL, NULL, 0, &t.env), 0);
	assert_int_equal(sg_keystore_save(sub, "Bob", &id, NULL, NULL, 0, &t.env), 0);
	assert_int_equal(sg_keystore_save(sub, "amy.2", &id, NULL, NULL, 0, &t.env), 0);
	assert_int_equal(sg_keystore_list(sub, names, 8, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(names[0], "Bob");
	assert_string_equal(names[1], "amy.2");
	assert_string_equal(names[2], "zed");
	assert_int_equal(sg_keystore_list(sub, names, 1, &n), 0);
	assert_int_equal(n, 3); /* total reported even when it exceeds max */
	assert_int_equal(sg_keystore_delete(sub, "Bob"), 0);
	assert_int_equal(sg_keystore_delete(sub, "Bob"), SG_ERR_NOTFOUND);
	assert_int_equal(sg_keystore_list(sub, names, 8, &n), 0);
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++)
		assert_int_equal(sg_keystore_delete(sub, names[i]), 0);
	rmdir(sub);

	assert_int_equal(sg_keystore_alias_check("ok_name-1.x"), 0);
	assert_int_equal(sg_keystore_alias_check(""), SG_ERR_INVAL);
	assert_int_equal(sg_keystore_alias_check(".hidden"), SG_ERR_INVAL);
	assert_int_equal(sg_keystore_alias_check("a/b"), SG_ERR_INVAL);
	assert_int_equal(sg_keystore_alias_check("sp ace"), SG_ERR_INVAL);
	assert_int_equal(sg_keystore_alias_check(
				 "a1234567890123456789012345678901234567890123456789012345678901234"),
			 SG_ERR_INVAL); /* 65 chars */
}

static void test_config_dir(void **state)
{
	char out[512];
	(void)state;
	assert_int_equal(sg_config_dir(out, sizeof(out), "/x/y"), 0);
	assert_string_equal(out, "/x/y");
	setenv("SAORSA_GOSSIP_HOME", "/from/env", 1);
	assert_int_equal(sg_config_dir(out, sizeof(out), NULL), 0);
	assert_string_equal(out, "/from/env");
	assert_int_equal(sg_keystore_dir(out, sizeof(out), NULL), 0);
	assert_string_equal(out, "/from/env/keystore");
	unsetenv("SAORSA_GOSSIP_HOME");
	setenv("HOME", "/home/u", 1);
	assert_int_equal(sg_config_dir(out, sizeof(out), NULL), 0);
	assert_string_equal(out, "/home/u/.saorsa-gossip");
	assert_int_equal(sg_config_dir(out, 5, NULL), SG_ERR_BUFSIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_derivations),
	    cmocka_unit_test(test_expanded_signing),
	    cmocka_unit_test(test_save_load),
	    cmocka_unit_test(test_sealed),
	    cmocka_unit_test(test_damaged_files),
	    cmocka_unit_test(test_crafted_headers),
	    cmocka_unit_test(test_list_delete_alias),
	    cmocka_unit_test(test_config_dir),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
