/*
 * The persistent peer cache: round trip, flag accumulation, the max_peers
 * bound and its eviction order (pinned and coordinators never evicted),
 * recent() order, persistence across close, two handles on one WAL file,
 * advert sequencing, expiry and bound, a real signed advert, the key/value
 * store, and files that are not (or no longer) a peer cache: random bytes,
 * every kind of truncation, a foreign database, a newer schema, rows with
 * wrong-length blobs or wrong types written behind the cache's back.
 */
#include "testutil.h"
#include "sg/err.h"
#include "sg/msg.h"
#include "sg/peercache.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[256];
static sg_env env;

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	(void)state;
	snprintf(base, sizeof(base), "%s/sg-peercache-XXXXXX",
		 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(base) == NULL)
		return -1;
	return sg_env_default(&env);
}

static int teardown(void **state)
{
	char cmd[600];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

/* <base>/<name>; a static buffer per call site is enough here. */
static const char *path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", base, name);
	return buf;
}

static sg_peer_id pid(unsigned n)
{
	sg_peer_id id;
	memset(&id, 0, sizeof(id));
	id.bytes[0] = 0xa0;
	id.bytes[30] = (uint8_t)(n >> 8);
	id.bytes[31] = (uint8_t)n;
	return id;
}

static sg_peercache_entry entry(unsigned n, uint64_t seen, int32_t score,
				uint32_t flags)
{
	sg_peercache_entry e;
	memset(&e, 0, sizeof(e));
	e.id = pid(n);
	e.addr_len = (uint8_t)(6 + n % 30);
	memset(e.addr, (int)(n & 0xff), e.addr_len);
	e.last_seen_ms = seen;
	e.score = score;
	e.flags = flags;
	return e;
}

static void assert_entry_equal(const sg_peercache_entry *a,
			       const sg_peercache_entry *b)
{
	assert_memory_equal(a->id.bytes, b->id.bytes, SG_PEER_ID_LEN);
	assert_int_equal(a->addr_len, b->addr_len);
	assert_memory_equal(a->addr, b->addr, a->addr_len);
	assert_true(a->last_seen_ms == b->last_seen_ms);
	assert_int_equal(a->score, b->score);
	assert_int_equal(a->flags, b->flags);
}

static sg_peercache *open_ok(const char *path, size_t max)
{
	int err = 1;
	sg_peercache *pc = sg_peercache_open(&env, path, max, &err);
	if (pc == NULL)
		fail_msg("open %s: %s", path, sg_errname(err));
	assert_int_equal(err, 0);
	return pc;
}

static int open_err(const char *path, size_t max)
{
	int err = 0;
	sg_peercache *pc = sg_peercache_open(&env, path, max, &err);
	assert_null(pc);
	return err;
}

/* Runs SQL on the file directly, as something other than the cache. */
static void raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 2000);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("raw sql: %s", msg);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	uint8_t *p = (uint8_t *)sg_test_read_file(path, len);
	assert_non_null(p);
	return p;
}

static void write_bytes(const char *path, const uint8_t *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static void test_round_trip(void **state)
{
	char p[512], w[520];
	sg_peercache_entry e = entry(1, 1700000000123ULL, -7, 0), got, z;
	sg_peer_id missing = pid(999);
	struct stat st;
	sg_peercache *pc;
	(void)state;

	pc = open_ok(path_of(p, sizeof(p), "rt.db"), 16);
	assert_int_equal(sg_peercache_count(pc), 0);
	assert_int_equal(sg_peercache_put(pc, &e), 0);
	assert_int_equal(sg_peercache_count(pc), 1);
	memset(&got, 0x55, sizeof(got));
	assert_int_equal(sg_peercache_get(pc, &e.id, &got), 0);
	assert_entry_equal(&got, &e);
	assert_int_equal(sg_peercache_get(pc, &missing, &got), SG_ERR_NOTFOUND);

	/* An empty address, and the extremes of every field. */
	z = entry(2, (uint64_t)INT64_MAX, INT32_MIN, UINT32_MAX);
	z.addr_len = 0;
	memset(z.addr, 0, sizeof(z.addr));
	assert_int_equal(sg_peercache_put(pc, &z), 0);
	assert_int_equal(sg_peercache_get(pc, &z.id, &got), 0);
	assert_entry_equal(&got, &z);
	z = entry(3, 0, INT32_MAX, 0);
	z.addr_len = SG_MEMB_ADDR_MAX;
	assert_int_equal(sg_peercache_put(pc, &z), 0);
	assert_int_equal(sg_peercache_get(pc, &z.id, &got), 0);
	assert_entry_equal(&got, &z);

	/* Refused arguments. */
	z.addr_len = SG_MEMB_ADDR_MAX + 1;
	assert_int_equal(sg_peercache_put(pc, &z), SG_ERR_INVAL);
	z.addr_len = 1;
	z.last_seen_ms = (uint64_t)INT64_MAX + 1;
	assert_int_equal(sg_peercache_put(pc, &z), SG_ERR_RANGE);
	assert_int_equal(sg_peercache_put(pc, NULL), SG_ERR_INVAL);
	assert_int_equal(sg_peercache_put(NULL, &z), SG_ERR_INVAL);
	assert_int_equal(sg_peercache_count(NULL), SG_ERR_INVAL);
	assert_int_equal(sg_peercache_count(pc), 3);

	assert_int_equal(sg_peercache_remove(pc, &e.id), 0);
	assert_int_equal(sg_peercache_remove(pc, &e.id), SG_ERR_NOTFOUND);
	assert_int_equal(sg_peercache_get(pc, &e.id, &got), SG_ERR_NOTFOUND);
	assert_int_equal(sg_peercache_count(pc), 2);

	/* The database and its WAL are private. */
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(w, sizeof(w), "%s-wal", p);
	assert_int_equal(stat(w, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	sg_peercache_close(pc);
	sg_peercache_close(NULL);

	/* Bad open arguments. */
	assert_int_equal(open_err(p, 0), SG_ERR_INVAL);
	assert_null(sg_peercache_open(&env, NULL, 4, NULL));
	assert_null(sg_peercache_open(NULL, p, 4, NULL));
}

static void test_update_flags(void **state)
{
	char p[512];
	sg_peercache_entry e = entry(7, 1000, 3, SG_PEER_COORDINATOR), u, got;
	sg_peercache *pc;
	(void)state;

	pc = open_ok(path_of(p, sizeof(p), "upd.db"), 16);
	assert_int_equal(sg_peercache_put(pc, &e), 0);

	/* Everything but flags replaced; flags OR-ed. */
	u = entry(7, 2000, -4, SG_PEER_PINNED);
	u.addr_len = 4;
	memcpy(u.addr, "\x01\x02\x03\x04", 4);
	assert_int_equal(sg_peercache_put(pc, &u), 0);
	assert_int_equal(sg_peercache_get(pc, &e.id, &got), 0);
	u.flags = SG_PEER_COORDINATOR | SG_PEER_PINNED;
	assert_entry_equal(&got, &u);

	/* Flags never drop, and an empty address keeps the stored one. */
	u.flags = 0;
	u.addr_len = 0;
	u.last_seen_ms = 3000;
	u.score = 9;
	assert_int_equal(sg_peercache_put(pc, &u), 0);
	assert_int_equal(sg_peercache_get(pc, &e.id, &got), 0);
	assert_int_equal(got.flags, SG_PEER_COORDINATOR | SG_PEER_PINNED);
	assert_int_equal(got.addr_len, 4);
	assert_memory_equal(got.addr, "\x01\x02\x03\x04", 4);
	assert_true(got.last_seen_ms == 3000);
	assert_int_equal(got.score, 9);
	assert_int_equal(sg_peercache_count(pc), 1);
	sg_peercache_close(pc);
}

static int present(sg_peercache *pc, unsigned n)
{
	sg_peercache_entry got;
	sg_peer_id id = pid(n);
	int rc = sg_peercache_get(pc, &id, &got);
	assert_true(rc == 0 || rc == SG_ERR_NOTFOUND);
	return rc == 0;
}

static void test_bound(void **state)
{
	char p[512];
	sg_peercache_entry e;
	sg_peercache_stats st;
	sg_peercache *pc;
	(void)state;

	pc = open_ok(path_of(p, sizeof(p), "bound.db"), 4);
	/* The two oldest are protected. */
	e = entry(1, 1, 0, SG_PEER_PINNED);
	assert_int_equal(sg_peercache_put(pc, &e), 0);
	e = entry(2, 2, 0, SG_PEER_COORDINATOR);
	assert_int_equal(sg_peercache_put(pc, &e), 0);
	e = entry(3, 3, 5, 0);
	assert_int_equal(sg_peercache_put(pc, &e), 0);
	e = entry(4, 3, 1, 0);
	assert_int_equal(sg_peercache_put(pc, &e), 0);
	assert_int_equal(sg_peercache_count(pc), 4);

	/* Oldest evictable first; among equal last_seen, the lower score. */
	e = entry(5, 10, 0, 0);
	assert_int_equal(sg_peercache_put(pc, &e), 0);
	assert_int_equal(sg_peercache_count(pc), 4);
	assert_false(present(pc, 4));
	assert_true(present(pc, 1) && present(pc, 2) && present(pc, 3));
	e = entry(6, 11, 0, 0);
	assert_int_equal(sg_peercache_put(pc, &e), 0);
	assert_false(present(pc, 3));

	/* An entry older than every evictable one is not stored. */
	e = entry(7, 0, 100, 0);
	assert_int_equal(sg_peercache_put(pc, &e), SG_ERR_FULL);
	assert_false(present(pc, 7));
	assert_int_equal(sg_peercache_count(pc), 4);

	/* Updates never evict; a flag set by an update protects. */
	e = entry(5, 12, 0, SG_PEER_PINNED);
	assert_int_equal(sg_peercache_put(pc, &e), 0);
	assert_int_equal(sg_peercache_count(pc), 4);
	e = entry(8, 20, 0, SG_PEER_COORDINATOR);
	assert_int_equal(sg_peercache_put(pc, &e), 0);
	assert_false(present(pc, 6));

	/* Only protected entries left: nothing may go, nothing comes in. */
	e = entry(9, 100, 0, 0);
	assert_int_equal(sg_peercache_put(pc, &e), SG_ERR_FULL);
	e = entry(10, 100, 0, SG_PEER_PINNED);
	assert_int_equal(sg_peercache_put(pc, &e), SG_ERR_FULL);
	assert_true(present(pc, 1) && present(pc, 2) && present(pc, 5) &&
		    present(pc, 8));
	assert_int_equal(sg_peercache_count(pc), 4);
	/* But they can still be updated. */
	e = entry(1, 500, 0, 0);
	assert_int_equal(sg_peercache_put(pc, &e), 0);

	sg_peercache_stats_get(pc, &st);
	assert_int_equal(st.evicted, 3);
	assert_int_equal(st.refused_full, 3);
	assert_int_equal(st.corrupt_rows, 0);
	sg_peercache_close(pc);
}

static void test_recent(void **state)
{
	/* (last_seen, score) pairs, inserted out of order. */
	static const struct {
		unsigned n;
		uint64_t seen;
		int32_t score;
	} in[] = {{1, 50, 0},  {2, 10, 0}, {3, 90, 0}, {4, 50, 8},
		  {5, 70, -1}, {6, 90, 3}, {7, 5, 0},  {8, 50, 8}};
	static const unsigned want[] = {6, 3, 5, 8, 4, 1, 2, 7};
	sg_peercache_entry out[16];
	char p[512];
	sg_peercache *pc;
	size_t i;
	(void)state;

	pc = open_ok(path_of(p, sizeof(p), "recent.db"), 64);
	assert_int_equal(sg_peercache_recent(pc, out, 16), 0);
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		sg_peercache_entry e =
		    entry(in[i].n, in[i].seen, in[i].score,
			  i % 3 == 0 ? SG_PEER_COORDINATOR : 0);
		assert_int_equal(sg_peercache_put(pc, &e), 0);
	}
	/* Newest first; ties: higher score, then higher id (8 before 4). */
	assert_int_equal(sg_peercache_recent(pc, out, 16), 8);
	for (i = 0; i < 8; i++) {
		sg_peer_id id = pid(want[i]);
		assert_memory_equal(out[i].id.bytes, id.bytes, SG_PEER_ID_LEN);
	}
	assert_true(out[0].last_seen_ms == 90 && out[0].score == 3);
	assert_int_equal(out[0].addr_len, 6 + 6);
	assert_int_equal(sg_peercache_recent(pc, out, 3), 3);
	assert_int_equal(out[2].id.bytes[31], 5);
	assert_int_equal(sg_peercache_recent(pc, NULL, 0), 0);
	assert_int_equal(sg_peercache_recent(pc, NULL, 1), SG_ERR_INVAL);
	sg_peercache_close(pc);
}

static void collect(void *ud, const sg_peer_id *id, const uint8_t *advert,
		    size_t len)
{
	char *log = ud;
	size_t n = strlen(log);
	/* "<id byte 31>:<len>:<first byte>;" */
	snprintf(log + n, 512 - n, "%u:%zu:%u;", id->bytes[31], len, advert[0]);
}

static void test_persistence(void **state)
{
	char p[512], log[512] = "";
	sg_peercache_entry e[6], got;
	sg_peercache_stats st;
	sg_peercache *pc;
	sg_peer_id a = pid(1);
	uint64_t v = 0;
	unsigned i;
	(void)state;

	pc = open_ok(path_of(p, sizeof(p), "persist.db"), 8);
	for (i = 0; i < 6; i++) {
		e[i] = entry(i + 1, 100 + i, (int32_t)i,
			     i == 0 ? SG_PEER_PINNED : 0);
		assert_int_equal(sg_peercache_put(pc, &e[i]), 0);
	}
	assert_int_equal(sg_peercache_put_advert(pc, &a, 3, 5000,
						 (const uint8_t *)"\x09xyz", 4),
			 0);
	assert_int_equal(sg_peercache_set_u64(pc, "last_seq", 42), 0);
	sg_peercache_close(pc);

	pc = open_ok(p, 8);
	assert_int_equal(sg_peercache_count(pc), 6);
	for (i = 0; i < 6; i++) {
		assert_int_equal(sg_peercache_get(pc, &e[i].id, &got), 0);
		assert_entry_equal(&got, &e[i]);
	}
	assert_int_equal(sg_peercache_get_u64(pc, "last_seq", &v), 0);
	assert_true(v == 42);
	assert_int_equal(sg_peercache_each_advert(pc, 100, collect, log), 0);
	assert_string_equal(log, "1:4:9;");
	/* Still sequenced after the restart. */
	assert_int_equal(sg_peercache_put_advert(pc, &a, 3, 6000,
						 (const uint8_t *)"\x01", 1),
			 SG_ERR_REPLAY);
	sg_peercache_close(pc);

	/* Reopened with a smaller bound: trimmed in eviction order, the
	 * pinned oldest one kept. */
	pc = open_ok(p, 3);
	assert_int_equal(sg_peercache_count(pc), 3);
	assert_true(present(pc, 1) && present(pc, 5) && present(pc, 6));
	sg_peercache_stats_get(pc, &st);
	assert_int_equal(st.evicted, 3);
	sg_peercache_close(pc);
}

static void test_two_handles(void **state)
{
	char p[512];
	sg_peercache_entry e, got, out[4];
	sg_peercache *a, *b;
	sg_peer_id id = pid(5);
	uint64_t v = 0;
	char log[512] = "";
	(void)state;

	a = open_ok(path_of(p, sizeof(p), "two.db"), 16);
	b = open_ok(p, 16);
	e = entry(5, 50, 1, 0);
	assert_int_equal(sg_peercache_put(a, &e), 0);
	assert_int_equal(sg_peercache_get(b, &e.id, &got), 0);
	assert_entry_equal(&got, &e);
	e = entry(5, 60, 2, SG_PEER_PINNED);
	assert_int_equal(sg_peercache_put(b, &e), 0);
	assert_int_equal(sg_peercache_recent(a, out, 4), 1);
	assert_entry_equal(&out[0], &e);
	assert_int_equal(sg_peercache_remove(a, &e.id), 0);
	assert_int_equal(sg_peercache_count(b), 0);

	assert_int_equal(sg_peercache_set_u64(b, "k", 7), 0);
	assert_int_equal(sg_peercache_get_u64(a, "k", &v), 0);
	assert_true(v == 7);
	assert_int_equal(
	    sg_peercache_put_advert(a, &id, 1, 900, (const uint8_t *)"A", 1),
	    0);
	assert_int_equal(
	    sg_peercache_put_advert(b, &id, 1, 900, (const uint8_t *)"B", 1),
	    SG_ERR_REPLAY);
	assert_int_equal(sg_peercache_each_advert(b, 0, collect, log), 0);
	assert_string_equal(log, "5:1:65;");

	/* A reader in the middle of nothing does not block the other's
	 * writes, and closing one keeps the other working. */
	sg_peercache_close(a);
	e = entry(6, 70, 0, 0);
	assert_int_equal(sg_peercache_put(b, &e), 0);
	assert_int_equal(sg_peercache_count(b), 1);
	sg_peercache_close(b);
}

static sg_peercache *reentrant_pc;
static int reentrant_rc;

static void reenter(void *ud, const sg_peer_id *id, const uint8_t *advert,
		    size_t len)
{
	(void)ud;
	(void)id;
	(void)advert;
	(void)len;
	reentrant_rc = (int)sg_peercache_count(reentrant_pc);
}

static void test_adverts(void **state)
{
	char p[512], log[512] = "";
	uint8_t big[SG_PEERCACHE_ADVERT_MAX + 1];
	sg_peer_id a = pid(1), b = pid(2), c = pid(3), d = pid(4);
	sg_peercache_stats st;
	sg_peercache *pc;
	(void)state;

	memset(big, 0x77, sizeof(big));
	pc = open_ok(path_of(p, sizeof(p), "adv.db"), 3);
	assert_int_equal(sg_peercache_put_advert(pc, &a, 5, 1000, big, 10), 0);
	/* Equal or lower seq refused; higher replaces. */
	assert_int_equal(sg_peercache_put_advert(pc, &a, 5, 1000, big, 11),
			 SG_ERR_REPLAY);
	assert_int_equal(sg_peercache_put_advert(pc, &a, 4, 1000, big, 12),
			 SG_ERR_REPLAY);
	big[0] = 1;
	assert_int_equal(sg_peercache_put_advert(pc, &a, 6, 2000, big,
						 SG_PEERCACHE_ADVERT_MAX),
			 0);
	/* The whole uint64_t range orders as unsigned. */
	assert_int_equal(
	    sg_peercache_put_advert(pc, &b, 1ull << 63, 1000, big, 3), 0);
	assert_int_equal(sg_peercache_put_advert(pc, &b, 5, 1000, big, 3),
			 SG_ERR_REPLAY);
	assert_int_equal(
	    sg_peercache_put_advert(pc, &b, UINT64_MAX, 1000, big, 3), 0);
	assert_int_equal(
	    sg_peercache_put_advert(pc, &b, UINT64_MAX, 1000, big, 3),
	    SG_ERR_REPLAY);

	/* Refused arguments. */
	assert_int_equal(sg_peercache_put_advert(pc, &c, 1, 1000, big,
						 SG_PEERCACHE_ADVERT_MAX + 1),
			 SG_ERR_RANGE);
	assert_int_equal(sg_peercache_put_advert(pc, &c, 1, 1000, big, 0),
			 SG_ERR_INVAL);
	assert_int_equal(sg_peercache_put_advert(pc, &c, 1, 1000, NULL, 1),
			 SG_ERR_INVAL);
	assert_int_equal(
	    sg_peercache_put_advert(pc, &c, 1, (uint64_t)INT64_MAX + 1, big, 1),
	    SG_ERR_RANGE);
	assert_int_equal(sg_peercache_each_advert(pc, 0, NULL, NULL),
			 SG_ERR_INVAL);

	/* Bound (3 here): a new publisher evicts the advert that expires
	 * first, unless it expires even sooner. */
	assert_int_equal(sg_peercache_put_advert(pc, &c, 1, 3000, big, 2), 0);
	assert_int_equal(sg_peercache_put_advert(pc, &d, 1, 999, big, 2),
			 SG_ERR_FULL);
	assert_int_equal(sg_peercache_put_advert(pc, &d, 1, 1500, big, 2), 0);
	assert_int_equal(sg_peercache_each_advert(pc, 0, collect, log), 0);
	assert_string_equal(log, "1:8192:1;3:2:1;4:2:1;"); /* b went */

	/* Expiry: kept while now <= expires_ms, then deleted. */
	log[0] = '\0';
	assert_int_equal(sg_peercache_each_advert(pc, 1500, collect, log), 0);
	assert_string_equal(log, "1:8192:1;3:2:1;4:2:1;");
	log[0] = '\0';
	assert_int_equal(sg_peercache_each_advert(pc, 2001, collect, log), 0);
	assert_string_equal(log, "3:2:1;");
	sg_peercache_stats_get(pc, &st);
	assert_int_equal(st.expired_adverts, 2);
	assert_int_equal(st.evicted_adverts, 1);
	assert_int_equal(st.stale_adverts, 4);
	assert_int_equal(st.refused_full, 1);
	/* An expired publisher may come back with any seq. */
	assert_int_equal(sg_peercache_put_advert(pc, &a, 1, 9000, big, 1), 0);

	/* The callback may not call back in. */
	reentrant_pc = pc;
	reentrant_rc = 0;
	assert_int_equal(sg_peercache_each_advert(pc, 0, reenter, NULL), 0);
	assert_int_equal(reentrant_rc, SG_ERR_STATE);
	assert_true(sg_peercache_count(pc) >= 0);
	sg_peercache_close(pc);
}

static uint8_t copied[SG_PEERCACHE_ADVERT_MAX];
static size_t copied_len;

static void copy_out(void *ud, const sg_peer_id *id, const uint8_t *advert,
		     size_t len)
{
	(void)ud;
	(void)id;
	assert_true(len <= sizeof(copied));
	memcpy(copied, advert, len);
	copied_len = len;
}

/* A real coordinator advert, as large as the protocol allows, fits (it is
 * larger than 4096 bytes). */
static void test_signed_advert(void **state)
{
	static uint8_t buf[16384];
	static sg_identity ident;
	uint8_t seed[SG_IDENTITY_SEED_LEN];
	char p[512];
	sg_advert adv;
	sg_peercache *pc;
	long n;
	size_t i;
	(void)state;

	memset(seed, 0x42, sizeof(seed));
	assert_int_equal(sg_identity_from_seed(&ident, seed), 0);
	memset(&adv, 0, sizeof(adv));
	adv.roles = SG_ROLE_ALL;
	adv.nat = SG_NAT_NONE;
	adv.naddrs = SG_ADVERT_MAX_ADDRS;
	for (i = 0; i < SG_ADVERT_MAX_ADDRS; i++) {
		adv.addrs[i].family = 6;
		memset(adv.addrs[i].ip, 0xfe, 16);
		adv.addrs[i].port = 65535;
	}
	adv.seq = UINT64_MAX;
	adv.not_before_ms = UINT64_MAX - SG_ADVERT_MAX_VALIDITY_MS;
	adv.not_after_ms = UINT64_MAX;
	n = sg_advert_sign(buf, sizeof(buf), &adv, &ident, NULL);
	assert_true(n > 4096);
	assert_true(n <= SG_PEERCACHE_ADVERT_MAX);

	pc = open_ok(path_of(p, sizeof(p), "signed.db"), 4);
	assert_int_equal(sg_peercache_put_advert(pc, &ident.id, adv.seq,
						 (uint64_t)INT64_MAX, buf,
						 (size_t)n),
			 0);
	copied_len = 0;
	assert_int_equal(sg_peercache_each_advert(pc, 0, copy_out, NULL), 0);
	assert_int_equal(copied_len, n);
	assert_memory_equal(copied, buf, (size_t)n);
	sg_peercache_close(pc);
}

static void test_kv(void **state)
{
	char p[512], key[SG_PEERCACHE_KEY_MAX + 2];
	sg_peercache *pc;
	uint64_t v = 1;
	(void)state;

	pc = open_ok(path_of(p, sizeof(p), "kv.db"), 4);
	assert_int_equal(sg_peercache_get_u64(pc, "last_seq", &v),
			 SG_ERR_NOTFOUND);
	assert_int_equal(sg_peercache_set_u64(pc, "last_seq", 0), 0);
	assert_int_equal(sg_peercache_get_u64(pc, "last_seq", &v), 0);
	assert_true(v == 0);
	assert_int_equal(sg_peercache_set_u64(pc, "last_seq", UINT64_MAX), 0);
	assert_int_equal(sg_peercache_get_u64(pc, "last_seq", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(sg_peercache_set_u64(pc, "other", 1ull << 63), 0);
	assert_int_equal(sg_peercache_get_u64(pc, "other", &v), 0);
	assert_true(v == 1ull << 63);
	assert_int_equal(sg_peercache_get_u64(pc, "last_seq", &v), 0);
	assert_true(v == UINT64_MAX);

	memset(key, 'k', sizeof(key));
	key[SG_PEERCACHE_KEY_MAX] = '\0';
	assert_int_equal(sg_peercache_set_u64(pc, key, 5), 0);
	key[SG_PEERCACHE_KEY_MAX] = 'k';
	key[SG_PEERCACHE_KEY_MAX + 1] = '\0';
	assert_int_equal(sg_peercache_set_u64(pc, key, 5), SG_ERR_INVAL);
	assert_int_equal(sg_peercache_set_u64(pc, "", 5), SG_ERR_INVAL);
	assert_int_equal(sg_peercache_set_u64(pc, NULL, 5), SG_ERR_INVAL);
	assert_int_equal(sg_peercache_get_u64(pc, "x", NULL), SG_ERR_INVAL);
	sg_peercache_close(pc);
}

static void test_not_a_cache(void **state)
{
	char p[512], q[512];
	uint8_t junk[8192], *before, *after;
	size_t blen, alen;
	sg_test_rng rng;
	int seed;
	(void)state;

	/* Random bytes of several sizes, including a valid-looking SQLite
	 * magic in front of garbage: refused, and left as they were. */
	path_of(p, sizeof(p), "junk.db");
	for (seed = 1; seed <= 6; seed++) {
		size_t len = seed == 1 ? 10 : seed == 2 ? 100 : 8192;
		sg_test_rng_seed(&rng, (uint64_t)seed);
		sg_test_rng_bytes(&rng, junk, sizeof(junk));
		if (seed >= 5)
			memcpy(junk, "SQLite format 3", 16);
		if (seed == 6) { /* page size 4096, everything else junk */
			junk[16] = 0x10;
			junk[17] = 0x00;
		}
		write_bytes(p, junk, len);
		assert_int_equal(open_err(p, 8), SG_ERR_CORRUPT);
		after = slurp(p, &alen);
		assert_int_equal(alen, len);
		assert_memory_equal(after, junk, len);
		free(after);
	}

	/* Somebody else's database: refused, not written to. */
	path_of(q, sizeof(q), "foreign.db");
	raw_exec(q, "CREATE TABLE t(x); INSERT INTO t VALUES(1);");
	before = slurp(q, &blen);
	assert_int_equal(open_err(q, 8), SG_ERR_CORRUPT);
	after = slurp(q, &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, blen);
	free(before);
	free(after);
	/* Ours in name, but not the tables we wrote. */
	path_of(q, sizeof(q), "foreign2.db");
	raw_exec(q, "CREATE TABLE peers(x); PRAGMA application_id = "
		    "0x53477063; PRAGMA user_version = 1;");
	assert_int_equal(open_err(q, 8), SG_ERR_CORRUPT);

	/* Not files. */
	assert_int_equal(open_err(base, 8), SG_ERR_IO);
	path_of(q, sizeof(q), "no/such/dir/peers.db");
	assert_int_equal(open_err(q, 8), SG_ERR_IO);
	path_of(q, sizeof(q), "link.db");
	assert_int_equal(symlink(p, q), 0);
	assert_int_equal(open_err(q, 8), SG_ERR_IO);
}

/* Fills a cache with enough rows to span many pages. */
static void fill(const char *path)
{
	sg_peercache *pc = open_ok(path, 1000);
	uint8_t adv[600];
	unsigned i;

	memset(adv, 0x3c, sizeof(adv));
	for (i = 0; i < 400; i++) {
		sg_peercache_entry e = entry(i, 1000 + i, (int32_t)i, 0);
		sg_peer_id id = pid(i);
		assert_int_equal(sg_peercache_put(pc, &e), 0);
		if (i % 4 == 0)
			assert_int_equal(sg_peercache_put_advert(pc, &id, 1,
								 9999, adv,
								 sizeof(adv)),
					 0);
	}
	sg_peercache_close(pc); /* checkpoints: everything in the file */
}

/* Cut points: through the 100-byte header in steps of 37, then every
 * page boundary (4096-byte pages) and a point inside every page. */
static size_t next_cut(size_t cut)
{
	if (cut < 200)
		return cut + 37;
	return cut % 4096 != 0 ? (cut / 4096 + 1) * 4096 : cut + 1031;
}

static void test_truncated(void **state)
{
	char p[512], q[512];
	uint8_t *full;
	size_t len, cut;
	int err, corrupt = 0, tried = 0;
	(void)state;

	fill(path_of(p, sizeof(p), "full.db"));
	full = slurp(p, &len);
	assert_true(len >= 16 * 4096);
	path_of(q, sizeof(q), "cut.db");

	/* The file header cut short, then every page boundary and the
	 * middle of pages: never a crash, and always refused. A cut at the
	 * end of page 1 leaves a header that promises pages that are gone. */
	for (cut = 1; cut < len; cut = next_cut(cut)) {
		sg_peercache *pc;
		write_bytes(q, full, cut);
		err = 0;
		pc = sg_peercache_open(&env, q, 1000, &err);
		if (pc != NULL) {
			sg_peercache_close(pc);
			fail_msg("a file cut at %zu of %zu bytes was accepted",
				 cut, len);
		}
		tried++;
		if (err == SG_ERR_CORRUPT)
			corrupt++;
		else
			fail_msg("cut at %zu: %s", cut, sg_errname(err));
		unlink(q);
	}
	assert_int_equal(corrupt, tried);
	free(full);
}

static void test_newer_schema(void **state)
{
	char p[512], q[512];
	uint8_t *before, *after;
	size_t blen, alen;
	(void)state;

	sg_peercache_close(open_ok(path_of(p, sizeof(p), "new.db"), 8));
	raw_exec(p, "PRAGMA user_version = 3");
	before = slurp(p, &blen);
	assert_int_equal(open_err(p, 8), SG_ERR_UNSUPPORTED);
	after = slurp(p, &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, blen);
	free(before);
	free(after);

	/* A database claiming a future version without our id. */
	raw_exec(path_of(q, sizeof(q), "new2.db"), "PRAGMA user_version = 7");
	assert_int_equal(open_err(q, 8), SG_ERR_UNSUPPORTED);
	/* Our id with version 0 is not something we ever wrote. */
	raw_exec(path_of(q, sizeof(q), "zero.db"),
		 "CREATE TABLE x(y); PRAGMA application_id = 0x53477063");
	assert_int_equal(open_err(q, 8), SG_ERR_CORRUPT);
}

/* How many delivered ids the file holds (read directly). */
static long delivered_rows(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long n = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM delivered", -1, &st,
			       NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* Delivered message ids: new, again, across a reopen, expired ones
 * deleted, and a version 1 file migrated (its peers kept). */
static void test_delivered(void **state)
{
	char p[512];
	uint8_t id[32];
	sg_peercache *pc;
	sg_peercache_entry e;
	int i;
	(void)state;

	pc = open_ok(path_of(p, sizeof(p), "dlv.db"), 8);
	memset(id, 0x11, sizeof(id));
	assert_int_equal(sg_peercache_delivered(pc, id, 5000, 1000), 0);
	assert_int_equal(sg_peercache_delivered(pc, id, 5000, 1000), 1);
	id[31] ^= 1;
	assert_int_equal(sg_peercache_delivered(pc, id, 5000, 1000), 0);
	assert_int_equal(sg_peercache_delivered(pc, id, UINT64_MAX, 1000),
			 SG_ERR_RANGE);
	assert_int_equal(sg_peercache_delivered(pc, NULL, 5000, 1000),
			 SG_ERR_INVAL);
	sg_peercache_close(pc);
	pc = open_ok(p, 8);
	assert_int_equal(sg_peercache_delivered(pc, id, 5000, 1000), 1);
	/* 1,100 more, all expired at 10,000: the pass after 1,024 puts
	 * deletes the expired ones */
	for (i = 0; i < 1100; i++) {
		memset(id, 0, sizeof(id));
		memcpy(id, &i, sizeof(i));
		assert_int_equal(sg_peercache_delivered(pc, id, 6000, 10000), 0);
	}
	sg_peercache_close(pc);
	assert_true(delivered_rows(p) < 200);

	/* a version 1 file: no delivered table; its peers survive */
	pc = open_ok(path_of(p, sizeof(p), "v1.db"), 8);
	memset(&e, 0, sizeof(e));
	e.id.bytes[0] = 7;
	e.addr_len = 1;
	e.last_seen_ms = 5;
	assert_int_equal(sg_peercache_put(pc, &e), 0);
	sg_peercache_close(pc);
	raw_exec(p, "DROP TABLE delivered; PRAGMA user_version = 1");
	assert_int_equal(delivered_rows(p), -1);
	pc = open_ok(p, 8);
	assert_int_equal(sg_peercache_get(pc, &e.id, &e), 0);
	memset(id, 0x22, sizeof(id));
	assert_int_equal(sg_peercache_delivered(pc, id, 5000, 1000), 0);
	sg_peercache_close(pc);
	assert_int_equal(delivered_rows(p), 1);
}

/* Rows no version of the cache writes: wrong-length ids and addresses,
 * wrong types, out-of-range numbers: 9 peers, 4 adverts, 2 kv. */
#define BAD_ROWS 15
/* A 32-byte blob literal starting with byte b. */
#define ID(b)                                                                  \
	"x'" b "0000000000000000000000000000000000000000000000000000000000000" \
	       "0'"
/* clang-format off */
static const char bad_rows[] =
	"INSERT INTO peers VALUES(zeroblob(31), x'01', 5, 0, 0);"
	"INSERT INTO peers VALUES(zeroblob(33), x'01', 5, 0, 0);"
	"INSERT INTO peers VALUES(" ID("b1") ", zeroblob(49), 5, 0, 0);"
	"INSERT INTO peers VALUES('text-id', x'01', 5, 0, 0);"
	"INSERT INTO peers VALUES(" ID("b2") ", 'text', 5, 0, 0);"
	"INSERT INTO peers VALUES(" ID("b3") ", x'01', 'soon', 0, 0);"
	"INSERT INTO peers VALUES(" ID("b4") ", x'01', -1, 0, 0);"
	"INSERT INTO peers VALUES(" ID("b5") ", x'01', 5, 2147483648, 0);"
	"INSERT INTO peers VALUES(" ID("b6") ", x'01', 5, 0, -1);"
	"INSERT INTO adverts VALUES(zeroblob(31), 1, 99, x'01');"
	"INSERT INTO adverts VALUES(" ID("c1") ", 1, 99, x'');"
	"INSERT INTO adverts VALUES(" ID("c2") ", 'one', 99, x'01');"
	"INSERT INTO adverts VALUES(" ID("c3") ", 1, 99, zeroblob(8193));"
	"INSERT INTO kv VALUES('k', 'text');"
	"INSERT INTO kv VALUES(x'6b6b', 1);";
/* clang-format on */

static void test_bad_rows(void **state)
{
	char p[512], log[512] = "";
	sg_peercache_entry out[32], got;
	sg_peercache_stats st;
	sg_peercache *pc;
	sg_peer_id b5, good;
	uint64_t v;
	unsigned i;
	(void)state;

	/* Written while the cache is open (WAL: a second writer): every
	 * read skips them, deletes them and counts them. */
	pc = open_ok(path_of(p, sizeof(p), "bad.db"), 100);
	for (i = 0; i < 3; i++) {
		sg_peercache_entry e = entry(i, 100 + i, 0, 0);
		assert_int_equal(sg_peercache_put(pc, &e), 0);
	}
	good = pid(0);
	assert_int_equal(
	    sg_peercache_put_advert(pc, &good, 1, 99, (const uint8_t *)"ok", 2),
	    0);
	raw_exec(p, bad_rows);
	assert_int_equal(sg_peercache_count(pc), 3 + 9);

	memset(&b5, 0, sizeof(b5));
	b5.bytes[0] = 0xb5;
	assert_int_equal(sg_peercache_get(pc, &b5, &got), SG_ERR_NOTFOUND);
	sg_peercache_stats_get(pc, &st);
	assert_int_equal(st.corrupt_rows, BAD_ROWS); /* one sweep: all */
	assert_int_equal(sg_peercache_count(pc), 3);

	raw_exec(p, bad_rows);
	assert_int_equal(sg_peercache_recent(pc, out, 32), 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(out[i].id.bytes[31], 2 - i);
	assert_int_equal(sg_peercache_count(pc), 3);
	sg_peercache_stats_get(pc, &st);
	assert_int_equal(st.corrupt_rows, 2 * BAD_ROWS);

	raw_exec(p, bad_rows);
	assert_int_equal(sg_peercache_each_advert(pc, 0, collect, log), 0);
	assert_string_equal(log, "0:2:111;"); /* only the good one */
	assert_int_equal(sg_peercache_get_u64(pc, "k", &v), SG_ERR_NOTFOUND);
	sg_peercache_stats_get(pc, &st);
	assert_int_equal(st.corrupt_rows, 3 * BAD_ROWS);
	sg_peercache_close(pc);

	/* Written while it is closed: removed when it opens. */
	raw_exec(p, bad_rows);
	pc = open_ok(p, 100);
	sg_peercache_stats_get(pc, &st);
	assert_int_equal(st.corrupt_rows, BAD_ROWS);
	assert_int_equal(sg_peercache_count(pc), 3);
	assert_int_equal(sg_peercache_recent(pc, out, 32), 3);
	sg_peercache_close(pc);
}

static void test_out_of_memory(void **state)
{
	sg_test_env t;
	char p[512];
	int err = 0;
	(void)state;

	sg_test_env_init(&t, 1, 0);
	assert_null(sg_peercache_open(&t.env, path_of(p, sizeof(p), "oom.db"),
				      4, &err));
	assert_int_equal(err, SG_ERR_NOMEM);
	sg_test_env_init(&t, 1, 1);
	sg_peercache_close(open_ok(p, 4));
	{
		sg_peercache *pc = sg_peercache_open(&t.env, p, 4, &err);
		assert_non_null(pc);
		sg_peercache_close(pc);
		assert_int_equal(t.allocs, t.frees);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_update_flags),
	    cmocka_unit_test(test_bound),
	    cmocka_unit_test(test_recent),
	    cmocka_unit_test(test_persistence),
	    cmocka_unit_test(test_two_handles),
	    cmocka_unit_test(test_adverts),
	    cmocka_unit_test(test_signed_advert),
	    cmocka_unit_test(test_kv),
	    cmocka_unit_test(test_not_a_cache),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_newer_schema),
	    cmocka_unit_test(test_delivered),
	    cmocka_unit_test(test_bad_rows),
	    cmocka_unit_test(test_out_of_memory),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
