// SPDX-License-Identifier: GPL-2.0
/* Unit tests: the /etc/auroratab parser.  Flat KTAP. */
#include <stdio.h>
#include <string.h>

#include "config/tab.h"
#include "ktap.h"

static int parse(struct aur_tab *t, const char *s, char *err, size_t errlen)
{
	return aur_tab_parse(t, s, strlen(s), err, errlen);
}

static void bad(const char *text, const char *expect, const char *desc)
{
	struct aur_tab t;
	char err[256] = "";
	int r = parse(&t, text, err, sizeof(err));

	ok(r < 0 && strstr(err, expect) != NULL, "%s", desc);
	if (r >= 0 || !strstr(err, expect))
		printf("# got %d '%s', wanted '%s'\n", r, err, expect);
	aur_tab_free(&t);
}

int main(void)
{
	struct aur_tab t;
	const struct aur_tab_entry *e;
	char err[256];

	ok(parse(&t, "# only a comment\n\n   \n", err, sizeof(err)) == 0 && t.n == 0,
	   "comments and blank lines give an empty table");
	aur_tab_free(&t);

	ok(parse(&t, "data0 /dev/vdb\n"
		     "logs\tUUID=0b6e1c0a-1111-4222-8333-944445555666  _netdev,nofail,ro # c\n"
		     "x /dev/disk/by-id/y noauto,x-systemd.device-timeout=30s",
		 err, sizeof(err)) == 0 && t.n == 3, "three entries parse (tabs, comment, no final newline)");
	e = aur_tab_find(&t, "data0");
	ok(e && !strcmp(e->device, "/dev/vdb") && !e->uuid[0] && !e->read_only, "path entry");
	e = aur_tab_find(&t, "logs");
	ok(e && !e->device[0] && !strcmp(e->uuid, "0b6e1c0a-1111-4222-8333-944445555666") &&
	   e->netdev && e->nofail && e->read_only && !e->noauto, "UUID entry with options");
	e = aur_tab_find(&t, "x");
	ok(e && e->noauto && e->line == 3, "x-systemd options are left to the generator");
	ok(aur_tab_find(&t, "nope") == NULL, "unknown name is not found");
	aur_tab_free(&t);

	bad("a/b /dev/vdb\n", "bad volume name", "a name with a slash is refused");
	bad("..  /dev/vdb\n", "bad volume name", "'..' is refused");
	bad("a\n", "has no device", "an entry without a device is refused");
	bad("a vdb\n", "absolute path or UUID", "a relative device is refused");
	bad("a UUID=xyz\n", "bad UUID", "a malformed UUID is refused");
	bad("a /dev/x bogus\n", "unknown option 'bogus'", "an unknown option is refused");
	bad("a /dev/x - extra\n", "too many fields", "a fourth field is refused");
	bad("a /dev/x\na /dev/y\n", "listed twice", "a duplicate name is refused");
	bad("ok /dev/x\nb\xff /dev/y\n", "line 2", "the error names the line");
	{
		char big[PATH_MAX + 600];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		bad(big, "too long", "an over-long line is refused");
	}
	{
		static const char nul[] = "a /dev/x\0b";

		ok(aur_tab_parse(&t, nul, sizeof(nul) - 1, err, sizeof(err)) < 0,
		   "a NUL byte is refused");
		aur_tab_free(&t);
	}
	return ktap_done();
}
