// SPDX-License-Identifier: GPL-2.0
/*
 * Host benchmark of the agent's own costs, through the same library calls
 * the CLI and the daemon make (embedded KMS, no device-mapper needed):
 *
 *  - unwrap: read and verify a volume header, unwrap its DEK through the
 *    KMS (Decrypt with its encryption context) and build the table line:
 *    what 'aurora open' does before it talks to the kernel;
 *  - watch: one CMK check of a volume (DescribeKey + trial Decrypt), what
 *    'aurora agent' does per volume and pass;
 *  - memory: resident set of this process (the daemon's code and state)
 *    with 100 volumes, after a watch pass over all of them.
 *
 * Usage: agent-cost [VOLUMES] [ITERATIONS]; prints one JSON object.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "kms/local/kms_local.h"
#include "util/util.h"
#include "volume/volume.h"
#include "agent/watch.h"

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static long status_kib(const char *field)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, strlen(field)))
			v = strtol(line + strlen(field) + 1, NULL, 10);
	fclose(f);
	return v;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void stats(const char *name, double *v, int n, int last)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	printf("  \"%s\": {\"n\": %d, \"median_us\": %.1f, \"p99_us\": %.1f, \"min_us\": %.1f}%s\n",
	       name, n, v[n / 2], v[(n * 99) / 100], v[0], last ? "" : ",");
}

int main(int argc, char **argv)
{
	int nvol = argc > 1 ? atoi(argv[1]) : 100;
	int iters = argc > 2 ? atoi(argv[2]) : 300;
	char base[] = "/tmp/aurora-agent-cost-XXXXXX", ks[64], (*img)[64];
	struct aur_kms_local_opts lo = { .account = "111122223333", .region = "eu-west-1" };
	struct aur_format_opts fo = { .kms_key_id = "alias/aurora/default", .force = true };
	struct aur_watch_opts wo;
	struct aur_kms_status st;
	struct aur_kms *kms = NULL;
	double *t;
	long rss0, rss1, hwm;
	int i;

	if (nvol < 1 || iters < 1 || !mkdtemp(base))
		return 2;
	aur_log_init("agent-cost", false, AUR_LOG_ERR);
	img = calloc((size_t)nvol, sizeof(*img));
	t = calloc((size_t)iters, sizeof(*t));
	snprintf(ks, sizeof(ks), "%s/ks", base);
	lo.keystore = ks;
	if (!img || !t || aur_kms_local_new(&lo, &kms, &st)) {
		fprintf(stderr, "agent-cost: setup failed\n");
		return 1;
	}
	for (i = 0; i < nvol; i++) {
		struct aur_error err;
		struct aur_hdr h;
		int fd;

		snprintf(img[i], sizeof(img[i]), "%s/v%03d.img", base, i);
		fd = open(img[i], O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || ftruncate(fd, 4 << 20) != 0)
			return 1;
		close(fd);
		if (aur_volume_format(kms, img[i], &fo, &h, &err) < 0) {
			fprintf(stderr, "agent-cost: format: %s\n", err.msg);
			return 1;
		}
		aur_hdr_free(&h);
	}

	printf("{\n  \"volumes\": %d,\n", nvol);
	for (i = 0; i < iters; i++) {
		struct aur_hdr_read r;
		struct aur_secret *dek = NULL;
		struct aur_error err;
		char params[512];
		double t0 = now_us();

		if (aur_volume_read_header(img[i % nvol], &r, &err) < 0 ||
		    kms->ops->decrypt(kms, r.hdr.cmk_arn, &r.hdr.ctx, &r.hdr.wrapped_dek, &dek,
				      NULL, &st) != AUR_KMS_OK ||
		    aur_volume_table(&r.hdr, makedev(254, 0), params, sizeof(params))) {
			fprintf(stderr, "agent-cost: unwrap failed\n");
			return 1;
		}
		aur_secret_free(dek);
		aur_hdr_free(&r.hdr);
		t[i] = now_us() - t0;
	}
	stats("unwrap_and_table", t, iters, 0);

	for (i = 0; i < iters; i++) {
		struct aur_hdr_read r;
		struct aur_cmk_check c;
		struct aur_error err;
		double t0;

		if (aur_volume_read_header(img[i % nvol], &r, &err) < 0)
			return 1;
		t0 = now_us();
		aur_volume_check_cmk(kms, &r.hdr, &c);
		t[i] = now_us() - t0;
		aur_hdr_free(&r.hdr);
		if (c.verdict != AUR_CMK_OK)
			return 1;
	}
	stats("cmk_check", t, iters, 0);

	/* A daemon pass over every volume: memory before and after. */
	aur_watch_opts_default(&wo);
	rss0 = status_kib("VmRSS:");
	{
		double t0 = now_us();

		for (i = 0; i < nvol; i++) {
			struct aur_watch_result res;

			aur_watch_check_volume(kms, img[i], NULL, false, &wo, NULL, &res);
			if (res.outcome != AUR_WATCH_OK)
				return 1;
		}
		printf("  \"watch_pass_ms\": %.1f,\n", (now_us() - t0) / 1e3);
	}
	rss1 = status_kib("VmRSS:");
	hwm = status_kib("VmHWM:");
	printf("  \"rss_kib_before_pass\": %ld,\n  \"rss_kib_after_pass\": %ld,\n"
	       "  \"rss_kib_peak\": %ld\n}\n", rss0, rss1, hwm);
	aur_kms_destroy(kms);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
		if (system(cmd) != 0)
			return 1;
	}
	free(img);
	free(t);
	return 0;
}
