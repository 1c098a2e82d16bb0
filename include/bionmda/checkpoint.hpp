#pragma once
/**
 * @file checkpoint.hpp
 * @brief Saving and restoring the complete state of a population.
 *
 * A checkpoint holds g, x, the pulse countdowns, the step counter, dt, every
 * parameter (uniform or per unit), the initial-value settings, the precision,
 * the sizes, the presynaptic sources (when set) and a caller-chosen Poisson
 * seed (the library's Poisson input is a pure function of seed, step and
 * element, so seed plus step counter is its whole generator state). The file
 * has a header (magic, format version, endianness, element type, sizes) and
 * an xxHash64 checksum, and is written atomically (temporary file, flush to
 * disk, rename). A checkpoint written by one backend loads in the other, and
 * N steps + save + load + M steps equals N + M steps bit for bit.
 *
 * Memory: g, x and the countdowns travel between the population and the file
 * in chunks of checkpoint_chunk_elements, in the state's own precision, and
 * the checksum is computed as the bytes go by. Saving, loading and restoring
 * need at most one chunk (16 MiB) of extra host memory beyond the parameters
 * and the presynaptic sources, whatever N * B is.
 */
#include <cstdint>
#include <string>

#include "bionmda/population.hpp"

namespace bionmda {

/**
 * @brief Elements of g, x or the countdowns moved between a population and a
 *        checkpoint file at a time: 16 MiB of float64, 8 MiB of float32.
 */
inline constexpr std::int64_t checkpoint_chunk_elements = std::int64_t{1} << 21;

/** @brief What a checkpoint file says about itself. */
struct checkpoint_info {
  std::int64_t units = 0;       ///< N
  std::int64_t batch = 0;       ///< B
  std::int64_t step_count = 0;  ///< steps taken when saved
  double dt = 0;                ///< ms
  bionmda::precision precision = precision::float32;
  std::uint64_t poisson_seed = 0;  ///< as given to save_checkpoint
};

/**
 * @brief Writes pop's complete state to path, atomically. Waits for pop's work.
 * @param poisson_seed stored for the caller (e.g. the seed of step_poisson)
 * @throw bionmda::error when the file cannot be written (path untouched)
 */
void save_checkpoint(const population& pop, const std::string& path, std::uint64_t poisson_seed = 0);

/**
 * @brief A new population with the configuration and state of a checkpoint,
 *        on backend be (either backend can load any checkpoint).
 * @throw bionmda::error naming the file and what is wrong for a missing,
 *        unreadable (e.g. a directory), truncated, corrupted (checksum),
 *        wrong-version or wrong-endianness file
 * @throw bionmda::invalid_argument naming the file, for a parameter or size
 *        the population refuses
 */
[[nodiscard]] population load_checkpoint(const std::string& path, backend be = backend::automatic,
                                         checkpoint_info* info = nullptr);

/**
 * @brief Replaces pop's state (g, x, countdowns, step counter, sources) with a
 *        checkpoint's. The file must match pop's sizes, precision, dt and
 *        parameters; any problem raises before pop changes. Reads the file
 *        twice: once to check the checksum and every value, once to write.
 * @throw bionmda::error for a bad file (as load_checkpoint), naming it
 * @throw bionmda::invalid_argument when the file does not match pop, or holds a
 *        value outside [0, 1] or a countdown beyond its unit's pulse length
 */
void restore_checkpoint(population& pop, const std::string& path, checkpoint_info* info = nullptr);

/** @brief Reads and checks a checkpoint's header and checksum only. */
[[nodiscard]] checkpoint_info read_checkpoint_info(const std::string& path);

}  // namespace bionmda
