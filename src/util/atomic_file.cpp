#include "atomic_file.hpp"

#include "temporary_file.hpp"

namespace bionmda::detail {

void write_atomically(const std::string& path, const std::function<void(std::ostream&)>& write) {
  temporary_file tmp(path);  // removed by its destructor on any failure
  write(tmp.stream());
  tmp.finish();
  const signal_hold hold;
  tmp.rename_onto_target();
}

}  // namespace bionmda::detail
