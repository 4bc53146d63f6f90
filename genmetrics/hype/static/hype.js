// The rater's page. The server keeps the rater's place; this script shows what /state says, sends each
// answer once (retrying on a network error is safe: the server stores an answer once per trial), and for
// HYPE-time measures how long the image was really on screen with requestAnimationFrame timestamps.
"use strict";
(function () {
  const token = location.pathname.split("/").pop();
  const $ = (id) => document.getElementById(id);
  const NAMES = { tutorial: "Practice", qualification: "Qualification", task: "Main task" };
  // A step lasts until the next frame would overshoot it by more than half a 60 Hz frame.
  const HALF_FRAME_MS = 8;
  let current = null, enabledAt = 0, shownMs = null, busy = false;

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));

  function show(id) {
    for (const section of document.querySelectorAll("main > section")) section.hidden = section.id !== id;
    document.body.dataset.page = id;
  }

  async function call(path, body) {
    const options = body === undefined ? { cache: "no-store" } :
      { method: "POST", cache: "no-store", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
    for (let attempt = 0; ; attempt++) {
      let response;
      try {
        response = await fetch(`/api/r/${token}/${path}`, options);
      } catch (error) {                      // network trouble: wait and send the same request again
        if (attempt >= 5) throw new Error("The connection was lost. Your answers so far are saved.");
        await sleep(400 * 2 ** attempt);
        continue;
      }
      const data = await response.json().catch(() => ({}));
      if (response.ok) return data;
      if (response.status >= 500 && attempt < 5) { await sleep(400 * 2 ** attempt); continue; }
      throw new Error(data.error || `The server answered ${response.status}.`);
    }
  }

  function setButtons(on) { $("real").disabled = !on; $("fake").disabled = !on; }

  function loadImage(url) {
    const image = new Image();
    image.src = url;
    return image.decode().then(() => image);
  }

  // Show each step for its duration, changing the screen inside animation frames; returns the frame
  // timestamps at which each step appeared, and the one at which the last step was removed.
  async function sequence(steps) {
    let t = await frame();
    const onsets = [];
    for (const step of steps) {
      step.show();
      const on = t;
      onsets.push(on);
      while (t - on < step.ms - HALF_FRAME_MS) t = await frame();
    }
    onsets.push(t);
    return onsets;
  }

  async function timedExposure(state) {
    const image = $("image"), mask = $("mask"), countdown = $("countdown");
    const masks = await Promise.all(state.masks.map(loadImage));
    const steps = [];
    for (let n = state.countdown_from; n >= 1; n--) {
      steps.push({ ms: state.countdown_ms, show: () => { countdown.textContent = String(n); countdown.hidden = false; } });
    }
    steps.push({ ms: state.exposure_ms, show: () => { countdown.hidden = true; image.hidden = false; } });
    for (const m of masks) {
      steps.push({ ms: state.mask_ms, show: () => { image.hidden = true; mask.src = m.src; mask.hidden = false; } });
    }
    const onsets = await sequence(steps);
    mask.hidden = true;
    const k = state.countdown_from;          // the image is step k; the first mask replaced it at onsets[k + 1]
    return onsets[k + 1] - onsets[k];
  }

  async function runTrial(state) {
    current = state;
    shownMs = null;
    show("trial");
    const part = state.page === "task" && state.blocks > 1 ? ` (part ${state.block} of ${state.blocks})` : "";
    $("phase-name").textContent = NAMES[state.page] + part;
    $("counter").textContent = `${state.index} / ${state.total}`;
    setButtons(false);
    const image = $("image");
    image.hidden = true;
    image.src = state.image;
    await image.decode();
    if (state.timed) shownMs = await timedExposure(state);
    else image.hidden = false;
    enabledAt = performance.now();
    setButtons(true);
    document.body.dataset.ready = String(state.trial);
  }

  function showFeedback(state, feedback) {
    const line = $("feedback");
    line.className = "";
    line.textContent = "";
    if (feedback.label) line.textContent = `That image was ${feedback.label}.`;
    else if (feedback.correct !== undefined) line.textContent = feedback.correct ? "Correct" : "Wrong";
    if (feedback.correct !== undefined) line.className = feedback.correct ? "right" : "wrong";
  }

  async function render(state) {
    document.body.dataset.ready = "";
    document.body.dataset.phase = state.page;
    if (state.page === "consent") {
      const plan = $("plan");
      plan.textContent = "";
      const words = { tutorial: "Practice with feedback", qualification: "A qualification round",
                      task: state.method === "time" ? "The main task, in parts of" : "The main task" };
      for (const [phase, block, n] of state.plan) {
        if (phase === "task" && block > 0) continue;
        const item = document.createElement("li");
        item.textContent = `${words[phase]}: ${n} images` +
          (phase === "qualification" ? ` (you continue if you get at least ${state.pass_percent}% of the real ` +
           `and ${state.pass_percent}% of the fake images right)` : "");
        plan.appendChild(item);
      }
      for (const el of document.querySelectorAll(".timed-only")) el.hidden = state.method !== "time";
      show("consent");
    } else if (state.page === "done") {
      $("code").textContent = state.completion_code;
      $("done-text").textContent = state.qualified ? "You have finished the study." :
        "You did not reach the qualification score, so the study ends here. Thank you for your time.";
      show("done");
    } else {
      await runTrial(state);
    }
  }

  async function respond(choice) {
    if (!current || busy || $("real").disabled) return;
    busy = true;
    setButtons(false);
    document.body.dataset.ready = "";
    const body = { trial: current.trial, answer: choice, rt_ms: performance.now() - enabledAt };
    if (current.timed) body.shown_ms = shownMs;
    try {
      const result = await call("answer", body);
      showFeedback(current, result.feedback);
      await render(result.state);
    } catch (error) {
      problem(error);
    } finally {
      busy = false;
    }
  }

  function problem(error) {
    $("problem-text").textContent = error.message;
    show("problem");
  }

  async function start() {
    try { await render(await call("state")); } catch (error) { problem(error); }
  }

  $("agree").addEventListener("click", async () => {
    $("agree").disabled = true;
    try { await render((await call("consent", {})).state); } catch (error) { problem(error); }
    $("agree").disabled = false;
  });
  $("real").addEventListener("click", () => respond("real"));
  $("fake").addEventListener("click", () => respond("fake"));
  document.addEventListener("keydown", (event) => {
    if (document.body.dataset.page !== "trial") return;
    if (event.key === "r" || event.key === "R") respond("real");
    if (event.key === "f" || event.key === "F") respond("fake");
  });
  $("send-comment").addEventListener("click", async () => {
    try {
      await call("comment", { comment: $("comment").value });
      $("comment-status").textContent = "Thank you, your comment is saved.";
    } catch (error) {
      $("comment-status").textContent = error.message;
    }
  });
  $("retry").addEventListener("click", start);
  start();
})();
