// SPDX-License-Identifier: GPL-2.0
/* Header: round trip, torn/corrupt/stale copies, requirements, locking. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "volume/header.h"
#include "util/util.h"
#include "ktap.h"

static char img[64];

static void mkhdr(struct aur_hdr *h)
{
	aur_hdr_init(h);
	strcpy(h->uuid, "0f1e2d3c-4b5a-4697-8877-665544332211");
	h->seqid = 1;
	h->data_size = 4 << 20;
	strcpy(h->provider, "local");
	strcpy(h->cmk_named, "alias/aurora/default");
	strcpy(h->cmk_arn, "arn:aws:kms:us-east-1:111122223333:key/11111111-2222-4333-8444-555555555555");
	strcpy(h->cmk_account, "111122223333");
	strcpy(h->cmk_region, "us-east-1");
	h->wrapped_dek.len = 136;
	memset(h->wrapped_dek.data, 0xa5, 136);
	aur_enc_ctx_set(&h->ctx, "aurora:volume-uuid", h->uuid);
	aur_enc_ctx_set(&h->ctx, "aurora:region", "us-east-1");
	h->created = 1764458320;
}

static int newimg(void)
{
	int fd;

	strcpy(img, "/tmp/aurora-hdr-XXXXXX");
	fd = mkstemp(img);
	if (fd >= 0 && ftruncate(fd, 8 << 20) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void corrupt(int fd, uint64_t off)
{
	uint8_t b;

	if (pread(fd, &b, 1, (off_t)off) != 1)
		return;
	b ^= 0x40;
	if (pwrite(fd, &b, 1, (off_t)off) != 1)
		return;
}

/* Serialise, tweak the JSON with @edit, re-checksum via a parse-serialise
 * round trip of a modified header object. */
static int parse_json_variant(const char *from, const char *to, char *err, size_t errlen)
{
	struct aur_hdr h, out;
	uint8_t *area = calloc(1, AUR_HDR_AREA), *area2 = calloc(1, AUR_HDR_AREA);
	char *js, *pos;
	int r;

	mkhdr(&h);
	aur_hdr_serialise(&h, 0, area, err, errlen);
	js = strndup((char *)area + AUR_HDR_BIN, AUR_HDR_JSON_MAX);
	pos = strstr(js, from);
	if (!pos) {
		free(js);
		free(area);
		free(area2);
		snprintf(err, errlen, "variant pattern not found");
		return -999;
	}
	{
		size_t n = strlen(js) - strlen(from) + strlen(to) + 1;
		char *nj = calloc(1, n);

		memcpy(nj, js, (size_t)(pos - js));
		strcat(nj, to);
		strcat(nj, pos + strlen(from));
		/* rebuild the area by hand with the new JSON and a fresh checksum */
		memcpy(area2, area, AUR_HDR_BIN);
		memcpy(area2 + AUR_HDR_BIN, nj, strlen(nj));
		area2[24] = (uint8_t)strlen(nj);
		area2[25] = (uint8_t)(strlen(nj) >> 8);
		area2[26] = 0;
		area2[27] = 0;
		{
			/* recompute the checksum the same way the library does */
			EVP_MD_CTX *c = EVP_MD_CTX_new();
			unsigned int dl = 32;
			uint8_t zero[32] = { 0 };

			EVP_DigestInit_ex(c, EVP_sha256(), NULL);
			EVP_DigestUpdate(c, area2, 104);
			EVP_DigestUpdate(c, zero, 32);
			EVP_DigestUpdate(c, area2 + 136, AUR_HDR_AREA - 136);
			EVP_DigestFinal_ex(c, area2 + 104, &dl);
			EVP_MD_CTX_free(c);
		}
		free(nj);
	}
	r = aur_hdr_parse_area(area2, AUR_HDR_AREA, 0, &out, err, errlen);
	aur_hdr_free(&out);
	free(js);
	free(area);
	free(area2);
	return r;
}

int main(void)
{
	struct aur_hdr h, p;
	struct aur_hdr_read rd;
	uint8_t *area = calloc(1, AUR_HDR_AREA);
	char err[512], what[128];
	int fd, r;

	/* 1. round trip */
	mkhdr(&h);
	r = aur_hdr_serialise(&h, 0, area, err, sizeof(err));
	ok(r == 0, "serialise a header");
	r = aur_hdr_parse_area(area, AUR_HDR_AREA, 0, &p, err, sizeof(err));
	ok(r == 0, "parse it back (%s)", r ? err : "ok");
	ok(!strcmp(p.uuid, h.uuid) && p.seqid == 1 && p.data_size == h.data_size &&
	   p.sector_size == 512 && p.data_offset == AUR_DATA_OFFSET_DEFAULT &&
	   !strcmp(p.cmk_arn, h.cmk_arn) && !strcmp(p.cmk_named, h.cmk_named) &&
	   !strcmp(p.cmk_account, "111122223333") && !strcmp(p.cmk_region, "us-east-1") &&
	   p.wrapped_dek.len == 136 && !memcmp(p.wrapped_dek.data, h.wrapped_dek.data, 136) &&
	   aur_enc_ctx_equal(&p.ctx, &h.ctx) && p.state == AUR_VOL_ACTIVE && p.created == h.created,
	   "round trip keeps every field");
	aur_hdr_free(&p);
	ok(aur_hdr_parse_area(area, AUR_HDR_AREA, 1, &p, err, sizeof(err)) == -EINVAL,
	   "copy 0 found at copy 1's place is refused");
	aur_hdr_free(&p);

	/* 2. no DEK in clear: the JSON holds only the wrapped blob */
	ok(strstr((char *)area + AUR_HDR_BIN, "\"wrapped_dek\"") != NULL &&
	   strstr((char *)area + AUR_HDR_BIN, "plaintext") == NULL, "JSON has wrapped_dek and no plaintext field");

	/* 3. corruption anywhere in the area is detected */
	{
		size_t offs[] = { 9, 16, 40, 120, 200, AUR_HDR_BIN + 5, AUR_HDR_AREA - 1 };
		size_t i;
		int bad = 0;

		for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
			area[offs[i]] ^= 1;
			if (aur_hdr_parse_area(area, AUR_HDR_AREA, 0, &p, err, sizeof(err)) != -EINVAL)
				bad++;
			aur_hdr_free(&p);
			area[offs[i]] ^= 1;
		}
		ok(bad == 0, "a flipped bit in binary, JSON or padding is refused");
	}
	area[0] = 'X';
	ok(aur_hdr_parse_area(area, AUR_HDR_AREA, 0, &p, err, sizeof(err)) == -ENOENT,
	   "missing magic means no header (-ENOENT)");
	ok(aur_hdr_parse_area(area, 100, 0, &p, err, sizeof(err)) == -EINVAL, "short area refused");

	/* 4. JSON variants: each malformed field gives a clear error */
	{
		static const struct { const char *from, *to, *expect; } v[] = {
			{ "\"aes-xts-plain64\"", "\"aes-cbc-essiv\"", "cipher" },
			{ "\"key_size\":512", "\"key_size\":256", "key_size" },
			{ "\"sector_size\":512", "\"sector_size\":513", "sector_size" },
			{ "\"sector_size\":512", "\"sector_size\":\"512\"", "sector_size" },
			{ "\"data_offset\":1048576", "\"data_offset\":1000", "data_offset" },
			{ "\"state\":\"active\"", "\"state\":\"zombie\"", "state" },
			{ "\"provider\":\"local\"", "\"provider\":\"gcp\"", "provider" },
			{ "\"aurora:volume-uuid\"", "\"aurora:volume-uid\"", "UUID" },
			{ "\"uuid\":\"0f1e2d3c", "\"uuid\":\"1f1e2d3c", "uuid" },
			{ "\"created\":\"2025", "\"created\":\"yesterday", "created" },
			{ "\"mandatory\":[", "\"mandatory\":[1", "requirements" },
			{ "\"wrapped_dek\":\"", "\"wrapped_dek\":\"!", "wrapped_dek" },
		};
		size_t i;

		for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
			err[0] = '\0';
			r = parse_json_variant(v[i].from, v[i].to, err, sizeof(err));
			ok(r == -EINVAL && strstr(err, v[i].expect) != NULL,
			   "malformed %s refused: %s", v[i].expect, err);
		}
		r = parse_json_variant("\"requirements\"", "\"x-future\":{\"a\":1},\"requirements\"",
				       err, sizeof(err));
		ok(r == 0, "an unknown optional field is accepted");
	}

	/* 5. on an image: initial write, then updates */
	fd = newimg();
	ok(fd >= 0, "image file created");
	r = aur_hdr_read_fd(fd, &rd, err, sizeof(err));
	ok(r == -ENOENT, "blank image: no header");
	mkhdr(&h);
	r = aur_hdr_write_fd(fd, &h, 0, err, sizeof(err));
	ok(r == 0 && h.seqid == 1, "initial write gets sequence 1");
	r = aur_hdr_read_fd(fd, &rd, err, sizeof(err));
	ok(r == 0 && rd.valid[0] && rd.valid[1] && rd.seq[0] == 1 && rd.seq[1] == 1 && !rd.need_repair,
	   "both copies valid with sequence 1");
	aur_hdr_free(&rd.hdr);
	h.state = AUR_VOL_TERMINAL;
	strcpy(h.terminal_reason, "DisabledException");
	h.terminal_time = 1764458400;
	strcpy(h.restored_from, "snap-0123");
	r = aur_hdr_write_fd(fd, &h, 1, err, sizeof(err));
	ok(r == 0 && h.seqid == 2, "update gets sequence 2");
	r = aur_hdr_read_fd(fd, &rd, err, sizeof(err));
	ok(r == 0 && rd.hdr.seqid == 2 && rd.hdr.state == AUR_VOL_TERMINAL &&
	   !strcmp(rd.hdr.terminal_reason, "DisabledException") && rd.hdr.terminal_time == 1764458400 &&
	   !strcmp(rd.hdr.restored_from, "snap-0123") && rd.hdr.copied_from[0] == '\0',
	   "terminal state, reason, time and lineage persist");
	aur_hdr_free(&rd.hdr);

	/* 6. concurrent writer detected by the sequence number */
	r = aur_hdr_write_fd(fd, &h, 1, err, sizeof(err));
	ok(r == -ESTALE, "write with a stale expected sequence is refused (-ESTALE)");

	/* 7. torn copy 0: copy 1 wins, need_repair, next write repairs */
	corrupt(fd, AUR_HDR_BIN + 10);
	r = aur_hdr_read_fd(fd, &rd, err, sizeof(err));
	ok(r == 0 && rd.chosen == 1 && !rd.valid[0] && rd.need_repair && rd.hdr.seqid == 2,
	   "damaged copy 0: copy 1 is used and repair is flagged");
	aur_hdr_free(&rd.hdr);
	r = aur_hdr_write_fd(fd, &h, 2, err, sizeof(err));
	ok(r == 0, "write after damage succeeds");
	r = aur_hdr_read_fd(fd, &rd, err, sizeof(err));
	ok(r == 0 && rd.valid[0] && rd.valid[1] && rd.seq[0] == 3 && rd.seq[1] == 3 && !rd.need_repair,
	   "damaged copy repaired by the next write");
	aur_hdr_free(&rd.hdr);

	/* 8. crash between the two writes: the newer copy wins */
	h.seqid = 4;
	h.state = AUR_VOL_ACTIVE;
	r = aur_hdr_write_copy(fd, &h, 1, err, sizeof(err));
	r = aur_hdr_read_fd(fd, &rd, err, sizeof(err));
	ok(r == 0 && rd.chosen == 1 && rd.hdr.seqid == 4 && rd.seq[0] == 3 && rd.need_repair,
	   "crash after the first copy: higher sequence wins, stale copy flagged");
	aur_hdr_free(&rd.hdr);
	r = aur_hdr_write_fd(fd, &h, 4, err, sizeof(err));
	r = aur_hdr_read_fd(fd, &rd, err, sizeof(err));
	ok(r == 0 && rd.seq[0] == 5 && rd.seq[1] == 5, "stale copy repaired by the next write");
	aur_hdr_free(&rd.hdr);

	/* 9. torn write of copy 1 mid-update: old copy 0 still valid */
	corrupt(fd, AUR_HDR_AREA + 20);
	r = aur_hdr_read_fd(fd, &rd, err, sizeof(err));
	ok(r == 0 && rd.chosen == 0 && rd.hdr.seqid == 5, "torn copy 1: copy 0 used");
	aur_hdr_free(&rd.hdr);

	/* 10. both damaged */
	corrupt(fd, 50);
	r = aur_hdr_read_fd(fd, &rd, err, sizeof(err));
	ok(r == -EINVAL && strstr(err, "both header copies are invalid"), "both copies damaged: clear error (%s)", err);
	close(fd);
	unlink(img);

	/* 10b. two processes racing on the same sequence: exactly one wins */
	fd = newimg();
	mkhdr(&h);
	aur_hdr_write_fd(fd, &h, 0, err, sizeof(err));
	{
		int wins = 0, stale = 0, i, st;
		pid_t pids[2];

		for (i = 0; i < 2; i++) {
			pids[i] = fork();
			if (pids[i] == 0) {
				int cfd = open(img, O_RDWR);
				struct aur_hdr c;

				alarm(20);	/* a lock never released fails, not hangs */
				mkhdr(&c);
				snprintf(c.terminal_reason, sizeof(c.terminal_reason), "writer-%d", i);
				c.state = AUR_VOL_TERMINAL;
				r = aur_hdr_write_fd(cfd, &c, 1, err, sizeof(err));
				_exit(r == 0 ? 0 : r == -ESTALE ? 1 : 2);
			}
		}
		for (i = 0; i < 2; i++) {
			waitpid(pids[i], &st, 0);
			if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
				wins++;
			else if (WIFEXITED(st) && WEXITSTATUS(st) == 1)
				stale++;
		}
		r = aur_hdr_read_fd(fd, &rd, err, sizeof(err));
		ok(wins == 1 && stale == 1 && r == 0 && rd.hdr.seqid == 2 && rd.valid[0] && rd.valid[1],
		   "concurrent writers: one wins, the other gets -ESTALE (%d/%d)", wins, stale);
		aur_hdr_free(&rd.hdr);
	}
	close(fd);
	unlink(img);

	/* 11. unknown mandatory requirement */
	fd = newimg();
	mkhdr(&h);
	r = aur_hdr_write_fd(fd, &h, 0, err, sizeof(err));
	h.nreq = 1;
	strcpy(h.requirements[0], "online-reencrypt-v9");
	ok(aur_hdr_check_requirements(&h, err, sizeof(err)) == -EPROTONOSUPPORT &&
	   strstr(err, "online-reencrypt-v9"), "unknown requirement reported: %s", err);
	r = aur_hdr_write_fd(fd, &h, 1, err, sizeof(err));
	ok(r == -EPROTONOSUPPORT, "header with an unknown requirement is not written");
	/* put it on disk by hand, then the library refuses to write over it */
	h.seqid = 2;
	aur_hdr_write_copy(fd, &h, 0, err, sizeof(err));
	aur_hdr_write_copy(fd, &h, 1, err, sizeof(err));
	r = aur_hdr_read_fd(fd, &rd, err, sizeof(err));
	ok(r == 0 && rd.hdr.nreq == 1, "a header with requirements still reads (for status)");
	aur_hdr_free(&rd.hdr);
	h.nreq = 0;
	r = aur_hdr_write_fd(fd, &h, 2, err, sizeof(err));
	ok(r == -EPROTONOSUPPORT, "no write over an on-disk unknown requirement: %s", err);
	close(fd);
	unlink(img);

	/* 12. unknown optional fields survive a rewrite */
	{
		struct json_object *j = json_object_new_object();

		mkhdr(&h);
		json_object_object_add(j, "x-vendor", json_object_new_string("kept"));
		h.json = j;
		aur_hdr_serialise(&h, 0, area, err, sizeof(err));
		r = aur_hdr_parse_area(area, AUR_HDR_AREA, 0, &p, err, sizeof(err));
		aur_hdr_free(&h);
		aur_hdr_serialise(&p, 0, area, err, sizeof(err));
		ok(r == 0 && strstr((char *)area + AUR_HDR_BIN, "x-vendor") != NULL,
		   "unknown optional field kept across parse and rewrite");
		aur_hdr_free(&p);
	}

	/* 13. signatures */
	fd = newimg();
	ok(aur_probe_signatures(fd, 8 << 20, what, sizeof(what)) == 0, "blank image: no signature");
	if (pwrite(fd, "\x53\xef", 2, 1080) == 2)
		ok(aur_probe_signatures(fd, 8 << 20, what, sizeof(what)) == 1 && strstr(what, "ext"),
		   "ext4 magic detected (%s)", what);
	if (pwrite(fd, "LUKS\xba\xbe", 6, 0) == 6)
		ok(aur_probe_signatures(fd, 8 << 20, what, sizeof(what)) == 1 && strstr(what, "LUKS"),
		   "LUKS magic detected (%s)", what);
	{
		static const uint8_t z[8];

		if (pwrite(fd, z, 8, 0) == 8 && pwrite(fd, z, 2, 1080) == 2 &&
		    pwrite(fd, "SWAPSPACE2", 10, 4086) == 10)
			ok(aur_probe_signatures(fd, 8 << 20, what, sizeof(what)) == 1 && strstr(what, "swap"),
			   "swap signature detected (%s)", what);
		if (pwrite(fd, z, 8, 4086) == 8 && pwrite(fd, "XFSB", 4, 0) == 4)
			ok(aur_probe_signatures(fd, 8 << 20, what, sizeof(what)) == 1 && strstr(what, "XFS"),
			   "XFS signature detected (%s)", what);
	}
	close(fd);
	unlink(img);
	free(area);
	return ktap_done();
}
