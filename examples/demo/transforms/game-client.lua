-- Transform of the game-client source: runs on every event it sends, before the tracking plan
-- checks it. See docs/enrichment.md for the contract.

-- Builds of the client before 5.12 sent debug events and lower-case currency codes.
function transform(event)
  if event.type == "track" then
    local name = event.event or ""
    -- Debug events are for the developers' consoles, not the warehouse: drop them.
    if name:sub(1, 6) == "debug_" then
      return nil
    end
    -- The plan allows USD, CNY and EUR; "usd" is the same currency.
    local p = event.properties
    if name == "pay" and p ~= nil and type(p.currency) == "string" then
      p.currency = p.currency:upper()
    end
  end
  return event
end
