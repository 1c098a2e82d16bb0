// The window schedule: a ring of m = D/K exchanged windows, and when each
// exchange in flight is finished.
#include "bionmda/network/window_loop.hpp"

#include <string>

#include "bionmda/error.hpp"

namespace bionmda {

window_loop::window_loop(spike_exchange& exchange, window_loop_config config)
    : exchange_(&exchange), delay_(config.delay_steps), window_(config.window_steps == 0 ? config.delay_steps
                                                                                        : config.window_steps) {
  if (delay_ < 1 || delay_ >= max_spike_window_steps) {
    throw invalid_argument("window_loop: delay_steps = " + std::to_string(delay_) + ", must lie in [1, 2^24)");
  }
  if (window_ < 1 || delay_ % window_ != 0) {
    throw invalid_argument("window_loop: window_steps = " + std::to_string(config.window_steps) +
                           " must divide delay_steps = " + std::to_string(delay_));
  }
  m_ = delay_ / window_;
  slots_.resize(static_cast<std::size_t>(m_));
}

const std::vector<spike_word>& window_loop::begin_window(std::int64_t steps) {
  if (open_steps_ > 0) throw error("window_loop::begin_window: a window is open (end_window first)");
  if (steps < 1 || steps > window_) {
    throw invalid_argument("window_loop::begin_window: steps = " + std::to_string(steps) + ", must lie in [1, K = " +
                           std::to_string(window_) + "]");
  }
  if (closed_) {
    throw invalid_argument("window_loop::begin_window: the previous window was shorter than K = " +
                           std::to_string(window_) + " steps, so it had to be the last");
  }
  const std::int64_t w = step_ / window_;
  // m = 1: this window needs the previous window's spikes now.
  if (pending_ && m_ == 1) {
    exchange_->finish(slots_[static_cast<std::size_t>((w - 1) % m_)]);
    pending_ = false;
  }
  std::vector<spike_word>& in = slots_[static_cast<std::size_t>(w % m_)];
  if (w < m_) in.clear();  // nothing was emitted D steps before the start
  if (steps < window_) {
    // Spikes for the steps past a short window never arrive in it.
    std::size_t keep = 0;
    while (keep < in.size() && spike_step(in[keep]) < steps) ++keep;
    in.resize(keep);
  }
  open_steps_ = steps;
  return in;
}

void window_loop::end_window(host_span<const spike_word> local) {
  if (open_steps_ == 0) throw error("window_loop::end_window: no window is open (begin_window first)");
  for (std::int64_t i = 0; i < local.size; ++i) {
    if (spike_step(local.data[i]) >= open_steps_) {
      throw invalid_argument("window_loop::end_window: spike " + std::to_string(i) + " has step " +
                             std::to_string(spike_step(local.data[i])) + ", outside the window's " +
                             std::to_string(open_steps_) + " steps");
    }
  }
  const std::int64_t w = step_ / window_;
  // m >= 2: the previous window's exchange moved while this one computed.
  if (pending_) {
    exchange_->finish(slots_[static_cast<std::size_t>((w - 1) % m_)]);
    pending_ = false;
  }
  exchange_->start(local);  // checks the words before sending anything
  pending_ = true;
  step_ += open_steps_;
  closed_ = open_steps_ < window_;
  open_steps_ = 0;
}

void window_loop::drain() {
  if (!pending_) return;
  const std::int64_t w = step_ / window_ - (closed_ ? 0 : 1);
  exchange_->finish(slots_[static_cast<std::size_t>(w % m_)]);
  pending_ = false;
}

window_loop::state window_loop::save() {
  if (open_steps_ > 0) throw error("window_loop::save: a window is open (end_window first)");
  drain();
  state s;
  s.step = step_;
  s.delay_steps = delay_;
  s.window_steps = window_;
  s.closed = closed_;
  s.slots = slots_;
  return s;
}

void window_loop::check_restore(const state& s) const {
  if (open_steps_ > 0 || pending_ || exchange_->in_flight()) {
    throw error("window_loop::restore: a window is open or an exchange is in flight");
  }
  if (s.delay_steps != delay_ || s.window_steps != window_) {
    throw invalid_argument("window_loop::restore: the state has delay " + std::to_string(s.delay_steps) +
                           " and window " + std::to_string(s.window_steps) + " steps; this loop " +
                           std::to_string(delay_) + " and " + std::to_string(window_));
  }
  if (s.slots.size() != slots_.size() || s.step < 0 || (!s.closed && s.step % window_ != 0)) {
    throw invalid_argument("window_loop::restore: inconsistent state (step " + std::to_string(s.step) + ", " +
                           std::to_string(s.slots.size()) + " slots for " + std::to_string(slots_.size()) + ")");
  }
  for (const auto& slot : s.slots) {
    for (std::size_t i = 0; i < slot.size(); ++i) {
      if (spike_step(slot[i]) >= window_ || (i > 0 && slot[i - 1] >= slot[i])) {
        throw invalid_argument("window_loop::restore: a saved window's spikes are out of order or out of range");
      }
    }
  }
}

void window_loop::restore(const state& s) {
  check_restore(s);
  step_ = s.step;
  closed_ = s.closed;
  slots_ = s.slots;
}

}  // namespace bionmda
