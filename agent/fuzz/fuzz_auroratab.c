// SPDX-License-Identifier: GPL-2.0
/* libFuzzer harness: the /etc/auroratab parser. */
#include <stddef.h>
#include <stdint.h>

#include "config/tab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aur_tab t;
	char err[256];

	if (aur_tab_parse(&t, (const char *)data, size, err, sizeof(err)) == 0) {
		size_t i;

		for (i = 0; i < t.n; i++)
			(void)aur_tab_find(&t, t.e[i].name);
	}
	aur_tab_free(&t);
	return 0;
}
