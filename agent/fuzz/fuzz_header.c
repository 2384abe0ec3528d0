// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the on-disk header parser.  The input is laid over
 * both header copies (2 x 32 KiB, zero padded): the first byte picks how it
 * is split, so the fuzzer can mutate one copy or both.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "volume/header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[2 * AUR_HDR_AREA];
	struct aur_hdr_read r;
	char err[256];

	memset(buf, 0, sizeof(buf));
	memcpy(buf, data, size < sizeof(buf) ? size : sizeof(buf));
	if (aur_hdr_select(buf, buf + AUR_HDR_AREA, &r, err, sizeof(err)) == 0) {
		uint8_t *area = malloc(AUR_HDR_AREA);
		struct aur_hdr back;

		aur_hdr_check_requirements(&r.hdr, err, sizeof(err));
		/* whatever parses must serialise and parse again identically */
		if (area && aur_hdr_serialise(&r.hdr, 0, area, err, sizeof(err)) == 0) {
			if (aur_hdr_parse_area(area, AUR_HDR_AREA, 0, &back, err, sizeof(err)) != 0 ||
			    back.seqid != r.hdr.seqid || strcmp(back.uuid, r.hdr.uuid) ||
			    back.wrapped_dek.len != r.hdr.wrapped_dek.len)
				abort();
			aur_hdr_free(&back);
		}
		free(area);
		aur_hdr_free(&r.hdr);
	}
	return 0;
}
