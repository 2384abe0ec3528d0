// SPDX-License-Identifier: GPL-2.0
/* libFuzzer harness for the aurora.conf parser. */
#include <stdint.h>
#include <string.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aur_config cfg;
	char err[256];

	aur_config_defaults(&cfg);
	if (aur_config_parse(&cfg, (const char *)data, size, err, sizeof(err)) == 0) {
		if (!memchr(cfg.provider, '\0', sizeof(cfg.provider)) ||
		    !memchr(cfg.keystore, '\0', sizeof(cfg.keystore)))
			__builtin_trap();
	}
	return 0;
}
