/*
 * Internals shared by the presence files: the envelope decoder (views of
 * tag, nonce and ciphertext after the structural checks).
 */
#ifndef SG_PRESENCE_PRS_H
#define SG_PRESENCE_PRS_H

#include <stddef.h>
#include <stdint.h>

int prs_envelope(const uint8_t *beacon, size_t len, const uint8_t **tag,
		 const uint8_t **nonce, const uint8_t **ct, size_t *ct_len);

#endif
