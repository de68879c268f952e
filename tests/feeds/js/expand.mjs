// Expand an iCalendar feed with Mozilla's ical.js (Thunderbird's parser), independently of
// the service: reads the .ics on stdin, prints every occurrence that starts before the
// instant given as the first argument, as one JSON array of
// {"uid", "start", "end", "allDay", "status"}; timed starts and ends are UTC ISO instants,
// all-day ones are dates (YYYY-MM-DD).
import ICAL from "ical.js";

const until = ICAL.Time.fromJSDate(new Date(process.argv[2]), true);
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const root = new ICAL.Component(ICAL.parse(Buffer.concat(chunks).toString("utf8")));

for (const vtimezone of root.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(vtimezone);
}

const masters = new Map();
const exceptions = [];
for (const vevent of root.getAllSubcomponents("vevent")) {
  if (vevent.hasProperty("recurrence-id")) {
    exceptions.push(vevent);
    continue;
  }
  // Given no exceptions, ICAL.Event relates every RECURRENCE-ID VEVENT of the calendar to
  // the series, whatever its UID: an override of one series would replace another's
  // instance at the same local time. Each override is related to its own series below.
  const event = new ICAL.Event(vevent, { strictExceptions: true, exceptions: [] });
  masters.set(vevent.getFirstPropertyValue("uid"), event);
}
for (const vevent of exceptions) {
  const master = masters.get(vevent.getFirstPropertyValue("uid"));
  if (master === undefined) throw new Error("override without a master");
  master.relateException(vevent);
}

function instant(time) {
  return time.isDate ? time.toString() : time.toJSDate().toISOString();
}

const out = [];
for (const [uid, event] of masters) {
  const emit = (start, end, component) =>
    out.push({
      uid,
      start: instant(start),
      end: instant(end),
      allDay: start.isDate,
      status: component.getFirstPropertyValue("status") || "",
    });
  if (!event.isRecurring()) {
    emit(event.startDate, event.endDate, event.component);
    continue;
  }
  const iterator = event.iterator();
  for (let next = iterator.next(); next && next.compare(until) < 0; next = iterator.next()) {
    const details = event.getOccurrenceDetails(next);
    emit(details.startDate, details.endDate, details.item.component);
  }
}
process.stdout.write(JSON.stringify(out));
