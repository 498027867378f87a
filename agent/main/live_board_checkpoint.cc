#include "agent/main/live_board_checkpoint.h"

namespace txmon {

DayBaselineCheckpoint ToDayBaselineCheckpoint(const LiveBaseline& baseline) {
  return {baseline.day_start_ms, baseline.counting_since_ms, baseline.values};
}

LiveBaseline FromDayBaselineCheckpoint(const DayBaselineCheckpoint& saved) {
  return {saved.day_start_ms, saved.since_ms, saved.values};
}

DayBaselineCheckpoint SaveLiveBoardBaseline(const LiveBoard& board) {
  return ToDayBaselineCheckpoint(board.Baseline());
}

bool RestoreLiveBoardBaseline(const DayBaselineCheckpoint& saved, LiveBoard& board) {
  return board.RestoreBaseline(FromDayBaselineCheckpoint(saved));
}

}  // namespace txmon
