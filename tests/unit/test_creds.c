/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of the hub's credential sealing (hub/creds.c): the key file
 * (made 0600 whatever the umask, refused when others may use it, of the
 * wrong size or a link), and boxes (round trip, only the secret members,
 * another key or a damaged box refused as corrupt).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "creds.h"
#include "vg_err.h"

struct fixture {
	char dir[64];
	char key[128];
};

static char err[512];

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/vigil-creds-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->key, sizeof(f->key), "%s/credentials.key", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char p[160];

	unlink(f->key);
	snprintf(p, sizeof(p), "%s/other.key", f->dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/link.key", f->dir);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

#define OK(call) do { \
	int r_ = (call); \
	if (r_ != 0) \
		fail_msg("%s: %d %s", #call, r_, err); \
} while (0)

static struct hub_creds *
open_key(const char *path, int create)
{
	struct hub_creds *c = NULL;

	OK(hub_creds_open(path, create, &c, err, sizeof(err)));
	assert_non_null(c);
	return c;
}

/* Seals secrets and opens the box again; returns the JSON it held. */
static json_t *
round_trip(struct hub_creds *seal, struct hub_creds *open_with,
    const json_t *secrets)
{
	unsigned char *box = NULL;
	size_t boxlen = 0, len = 0;
	char *text = NULL;
	json_t *j;

	OK(hub_creds_seal(seal, secrets, &box, &boxlen, err, sizeof(err)));
	OK(hub_creds_unseal(open_with, box, boxlen, &text, &len, err,
	    sizeof(err)));
	free(box);
	assert_int_equal(strlen(text), len);
	j = json_loads(text, 0, NULL);
	hub_creds_text_free(text, len);
	assert_true(json_is_object(j));
	return j;
}

static void
test_key_created_private(void **state)
{
	struct fixture *f = *state;
	struct hub_creds *c;
	struct stat st;
	mode_t old = umask(0);

	/* Not there, not to be made: an error naming the file. */
	assert_int_equal(hub_creds_open(f->key, 0, &c, err, sizeof(err)),
	    VG_ERR_NOTFOUND);
	assert_null(c);
	assert_non_null(strstr(err, f->key));
	/* Made with no umask to help: 0600 all the same, 32 bytes. */
	c = open_key(f->key, 1);
	umask(old);
	assert_int_equal(stat(f->key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 32);
	hub_creds_close(c);
	hub_creds_close(NULL);
}

static void
test_seal_round_trip(void **state)
{
	struct fixture *f = *state;
	struct hub_creds *c, *again;
	json_t *in, *out;
	unsigned char *box = NULL;
	size_t boxlen = 0;

	c = open_key(f->key, 1);
	in = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "password",
	    "pa\"ss wörd", "private_key", "-----BEGIN OPENSSH PRIVATE "
	    "KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
	    "passphrase", "pp", "enable_secret", "en", "username", "not a "
	    "secret", "password_len", 8);
	assert_non_null(in);
	/* The same key read from the file opens what it sealed. */
	again = open_key(f->key, 0);
	out = round_trip(c, again, in);
	assert_int_equal(json_object_size(out), 4);
	assert_string_equal(json_string_value(json_object_get(out,
	    "password")), "pa\"ss wörd");
	assert_string_equal(json_string_value(json_object_get(out,
	    "private_key")), json_string_value(json_object_get(in,
	    "private_key")));
	assert_string_equal(json_string_value(json_object_get(out,
	    "passphrase")), "pp");
	assert_string_equal(json_string_value(json_object_get(out,
	    "enable_secret")), "en");
	json_decref(out);

	/* Absent members stay absent; a non-string one is left out. */
	json_object_clear(in);
	json_object_set_new(in, "password", json_integer(1));
	json_object_set_new(in, "enable_secret", json_string("e"));
	out = round_trip(c, c, in);
	assert_int_equal(json_object_size(out), 1);
	assert_string_equal(json_string_value(json_object_get(out,
	    "enable_secret")), "e");
	json_decref(out);

	/* Two boxes of the same secrets differ (a nonce each), and the
	 * secret is nowhere in them. */
	json_object_set_new(in, "password", json_string("hunter2hunter2"));
	OK(hub_creds_seal(c, in, &box, &boxlen, err, sizeof(err)));
	assert_null(memmem(box, boxlen, "hunter2", 7));
	{
		unsigned char *box2 = NULL;
		size_t boxlen2 = 0;

		OK(hub_creds_seal(c, in, &box2, &boxlen2, err, sizeof(err)));
		assert_int_equal(boxlen, boxlen2);
		assert_true(memcmp(box, box2, boxlen) != 0);
		free(box2);
	}
	free(box);
	json_decref(in);
	in = json_array();
	assert_int_equal(hub_creds_seal(c, in, &box, &boxlen, err,
	    sizeof(err)), VG_ERR_INVAL);
	json_decref(in);
	hub_creds_close(again);
	hub_creds_close(c);
}

static void
test_wrong_key_corrupt(void **state)
{
	struct fixture *f = *state;
	struct hub_creds *c, *other;
	json_t *in;
	unsigned char *box = NULL;
	size_t boxlen = 0, len;
	char path[160], *text = NULL;

	snprintf(path, sizeof(path), "%s/other.key", f->dir);
	c = open_key(f->key, 1);
	other = open_key(path, 1);
	in = json_pack("{s:s}", "password", "secret-one");
	OK(hub_creds_seal(c, in, &box, &boxlen, err, sizeof(err)));
	json_decref(in);

	assert_int_equal(hub_creds_unseal(other, box, boxlen, &text, &len, err,
	    sizeof(err)), VG_ERR_CORRUPT);
	assert_null(text);
	assert_non_null(strstr(err, "does not open"));
	/* A flipped bit, a cut box. */
	box[boxlen - 1] ^= 1;
	assert_int_equal(hub_creds_unseal(c, box, boxlen, &text, &len, err,
	    sizeof(err)), VG_ERR_CORRUPT);
	box[boxlen - 1] ^= 1;
	assert_int_equal(hub_creds_unseal(c, box, 20, &text, &len, err,
	    sizeof(err)), VG_ERR_CORRUPT);
	OK(hub_creds_unseal(c, box, boxlen, &text, &len, err, sizeof(err)));
	assert_string_equal(text, "{\"password\":\"secret-one\"}");
	hub_creds_text_free(text, len);
	hub_creds_text_free(NULL, 0);
	free(box);
	hub_creds_close(other);
	hub_creds_close(c);
}

static void
test_key_file_refused(void **state)
{
	struct fixture *f = *state;
	struct hub_creds *c = NULL;
	char path[160];
	int fd;

	hub_creds_close(open_key(f->key, 1));
	/* Readable by the group, or writable by others: refused, with
	 * what to do. */
	assert_int_equal(chmod(f->key, 0640), 0);
	assert_int_equal(hub_creds_open(f->key, 1, &c, err, sizeof(err)),
	    VG_ERR_PERM);
	assert_null(c);
	assert_non_null(strstr(err, "chmod 600"));
	assert_int_equal(chmod(f->key, 0602), 0);
	assert_int_equal(hub_creds_open(f->key, 0, &c, err, sizeof(err)),
	    VG_ERR_PERM);
	assert_int_equal(chmod(f->key, 0600), 0);

	/* Not 32 bytes: not a key (and never replaced by a new one). */
	assert_int_equal(truncate(f->key, 31), 0);
	assert_int_equal(hub_creds_open(f->key, 1, &c, err, sizeof(err)),
	    VG_ERR_FORMAT);
	assert_non_null(strstr(err, "31 bytes"));
	assert_int_equal(truncate(f->key, 33), 0);
	assert_int_equal(hub_creds_open(f->key, 1, &c, err, sizeof(err)),
	    VG_ERR_FORMAT);
	unlink(f->key);
	assert_true((fd = open(f->key, O_WRONLY | O_CREAT, 0600)) >= 0);
	close(fd);
	assert_int_equal(hub_creds_open(f->key, 1, &c, err, sizeof(err)),
	    VG_ERR_FORMAT);

	/* A link is not followed, nor made through. */
	snprintf(path, sizeof(path), "%s/link.key", f->dir);
	assert_int_equal(symlink(f->key, path), 0);
	assert_int_equal(hub_creds_open(path, 1, &c, err, sizeof(err)),
	    VG_ERR_FORMAT);
	assert_null(c);
	assert_int_equal(hub_creds_open("", 1, &c, err, sizeof(err)),
	    VG_ERR_INVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_key_created_private,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_seal_round_trip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_wrong_key_corrupt, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_key_file_refused, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
