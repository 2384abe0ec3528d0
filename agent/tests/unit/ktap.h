/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal flat KTAP for the unit tests: results are collected and printed
 * at exit as "1..N" followed by "ok N - desc" / "not ok N - desc".
 * The exit status is 1 when any test failed.
 */
#ifndef AURORA_TEST_KTAP_H
#define AURORA_TEST_KTAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char **ktap_lines;
static int ktap_n, ktap_failed;

static void ktap_add(int okay, const char *fmt, va_list ap)
{
	char desc[400], *line;
	size_t len;

	vsnprintf(desc, sizeof(desc), fmt, ap);
	for (char *p = desc; *p; p++)
		if (*p == '\n' || *p == '#')
			*p = ' ';
	ktap_n++;
	len = strlen(desc) + 32;
	line = malloc(len);
	snprintf(line, len, "%sok %d - %s", okay ? "" : "not ", ktap_n, desc);
	ktap_lines = realloc(ktap_lines, (size_t)ktap_n * sizeof(*ktap_lines));
	ktap_lines[ktap_n - 1] = line;
	if (!okay) {
		ktap_failed++;
		fprintf(stderr, "FAILED: %s\n", desc);
	}
}

static int ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int ok(int cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ktap_add(cond, fmt, ap);
	va_end(ap);
	return cond;
}

static int ktap_done(void)
{
	int i;

	printf("1..%d\n", ktap_n);
	for (i = 0; i < ktap_n; i++) {
		printf("%s\n", ktap_lines[i]);
		free(ktap_lines[i]);
	}
	free(ktap_lines);
	fflush(stdout);
	return ktap_failed ? 1 : 0;
}

#endif
