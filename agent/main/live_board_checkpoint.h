// The live board's baseline in checkpoints: conversions between the board's
// LiveBaseline and the checkpoint's plain DayBaselineCheckpoint, so neither
// the checkpoint nor the web stage needs to know the other.
//
// Threading: SaveLiveBoardBaseline from any thread (the board hands out a
// snapshot taken under its lock); RestoreLiveBoardBaseline before the board
// starts.
#pragma once

#include "agent/checkpoint/checkpoint_file.h"
#include "agent/live/live_board.h"

namespace txmon {

DayBaselineCheckpoint ToDayBaselineCheckpoint(const LiveBaseline& baseline);
LiveBaseline FromDayBaselineCheckpoint(const DayBaselineCheckpoint& saved);

DayBaselineCheckpoint SaveLiveBoardBaseline(const LiveBoard& board);
// Returns whether the board took it (it belongs to the board's current day).
bool RestoreLiveBoardBaseline(const DayBaselineCheckpoint& saved, LiveBoard& board);

}  // namespace txmon
