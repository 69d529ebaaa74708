#!/usr/bin/python3
"""make_corpus.py — writes data/sample/corpus.jsonl, finerank's bundled demo corpus.

Hand-written documents for the demo's scenarios (each id says which) plus filler on other
topics assembled from hand-written sentence pools, so the index has realistic term
statistics. Deterministic (fixed seed): rerunning it reproduces the committed file.
Fields: id, title, text, date (ISO 8601), source, authority, lang, meta {topic, region}.
Usage: /usr/bin/python3 data/sample/make_corpus.py > data/sample/corpus.jsonl
"""
import json
import random
import sys

AUTH = {"guideline": 1.0, "journal": 0.95, "encyclopedia": 0.9, "gov": 0.9, "hospital": 0.85,
        "news": 0.8, "vendor": 0.75, "blog": 0.65, "self-media": 0.6, "forum": 0.55}

docs = []


def doc(id, title, text, date, source, topic, lang="en", region="global", authority=None):
    d = {"id": id, "title": title, "text": text}
    if date:
        d["date"] = date
    d["source"] = source
    a = AUTH[source] if authority is None else authority
    if a is not None:
        d["authority"] = a
    d["lang"] = lang
    d["meta"] = {"topic": topic, "region": region}
    docs.append(d)


# ---- diabetes: dietary taboos vs insulin injection ----
doc("diab-diet-01", "Dietary taboos for people with diabetes",
    "People with diabetes should avoid sugary drinks, fruit juice, white bread and pastries. "
    "These foods raise blood glucose quickly. Fried food and fatty meat are also on the list "
    "of dietary taboos because they worsen insulin resistance and weight gain.",
    "2022-03-14", "hospital", "diabetes-diet")
doc("diab-diet-02", "What diabetics should not eat: a dietitian's list",
    "A dietitian lists the foods diabetics should limit or avoid: sweets, honey, syrup, "
    "sweetened yogurt, refined rice, and alcohol on an empty stomach. Dietary taboos are not "
    "absolute bans; portion size and the glycemic index of the whole meal matter.",
    "2021-07-02", "blog", "diabetes-diet")
doc("diab-diet-03", "Diabetes diet: foods to avoid and better swaps",
    "Swap white rice for brown rice or quinoa, soda for sparkling water, and candy for a "
    "handful of nuts. Avoid processed meat and trans fats. These dietary changes help keep "
    "blood sugar stable after meals.",
    "2023-05-20", "encyclopedia", "diabetes-diet")
doc("diab-diet-zh-01", "糖尿病饮食禁忌有哪些",
    "糖尿病患者应避免含糖饮料、果汁、白面包和糕点，这些食物会让血糖快速升高。油炸食品和肥肉也属于饮食禁忌，"
    "因为它们会加重胰岛素抵抗。建议多吃粗粮和蔬菜，控制主食分量。",
    "2023-02-11", "hospital", "diabetes-diet", lang="zh", region="cn")
doc("diab-diet-zh-02", "糖尿病人不能吃什么？营养师告诉你",
    "营养师提醒，糖尿病饮食禁忌包括甜点、蜂蜜、精米白面和空腹饮酒。饮食禁忌不是绝对不能吃，"
    "关键在于分量和整餐的升糖指数。",
    "2020-09-30", "self-media", "diabetes-diet", lang="zh", region="cn")
doc("diab-insulin-01", "How to inject insulin correctly",
    "Insulin injection technique: wash your hands, rotate injection sites between the abdomen, "
    "thigh and upper arm, pinch the skin, insert the pen needle at 90 degrees and hold for ten "
    "seconds. Never reuse needles. Store unopened insulin in the refrigerator.",
    "2022-11-08", "hospital", "diabetes-insulin")
doc("diab-insulin-02", "Insulin pens versus syringes",
    "Insulin pens are easier to carry and dose than vial and syringe. Patients with diabetes who "
    "inject insulin several times a day often prefer pens. Check the dose window and prime the "
    "pen with two units before each injection.",
    "2019-04-17", "vendor", "diabetes-insulin")
doc("diab-insulin-zh-01", "胰岛素注射的正确方法",
    "胰岛素注射前要洗手，轮换注射部位，如腹部、大腿和上臂。捏起皮肤，垂直进针，注射后停留十秒再拔针。"
    "针头不要重复使用，未开封的胰岛素应冷藏保存。",
    "2021-12-01", "hospital", "diabetes-insulin", lang="zh", region="cn")
doc("diab-insulin-03", "Insulin injection and meals: timing matters",
    "Rapid-acting insulin is injected fifteen minutes before a meal. If you skip the meal, do not "
    "inject the mealtime dose. Diet and insulin dosing must be planned together to prevent "
    "hypoglycemia.",
    "2024-01-22", "journal", "diabetes-insulin")

# ---- guideline 2023 vs hospital data 2010 vs self-media: hypertension ----
# The first two say the same thing (equal semantics); only date and source differ.
doc("htn-guideline-2023", "Hypertension treatment targets: blood pressure below 130/80",
    "For most adults with hypertension, the recommended blood pressure treatment target is "
    "below 130/80 mmHg. Start with lifestyle changes: less salt, more exercise, limited "
    "alcohol, then add medication when the target is not reached.",
    "2023-06-01", "guideline", "hypertension")
doc("htn-hospital-2010", "Hypertension treatment targets: blood pressure below 140/90",
    "For most adults with hypertension, the blood pressure treatment target used in our hospital "
    "is below 140/90 mmHg. Start with lifestyle changes: less salt, more exercise, limited "
    "alcohol, then add medication when the target is not reached.",
    "2010-03-15", "hospital", "hypertension")
doc("htn-selfmedia-2024", "Blood pressure target? Hypertension treatment secrets doctors skip",
    "Hypertension treatment target, blood pressure treatment target, hypertension blood pressure: "
    "one simple trick lowers blood pressure fast, no medication needed! Share before it is "
    "deleted. Treatment target below 120 for everyone with hypertension.",
    "2024-08-09", "self-media", "hypertension")
doc("htn-journal-2018", "Intensive versus standard blood pressure control in older adults",
    "A randomized trial compared an intensive systolic target of 120 mmHg with a standard target "
    "of 140 mmHg in adults over 60. Intensive control reduced cardiovascular events but caused "
    "more dizziness and kidney injury.",
    "2018-10-05", "journal", "hypertension")
doc("htn-news-2015", "Salt intake and high blood pressure",
    "Eating less salt lowers blood pressure within weeks. Health authorities recommend under five "
    "grams of salt a day. Processed food contributes most of the salt in a typical diet.",
    "2015-02-20", "news", "hypertension")

# ---- Fed rate hikes and A-shares ----
doc("fed-ashare-01", "How Fed rate hikes ripple into China's A-shares",
    "When the Federal Reserve raises interest rates, the dollar strengthens and foreign capital "
    "tends to leave emerging markets. A-shares often see northbound outflows through Stock "
    "Connect, hitting growth stocks and consumer names hardest.",
    "2023-03-23", "news", "finance", region="cn")
doc("fed-ashare-02", "美联储加息对A股的影响",
    "美联储加息后美元走强，北向资金往往流出，A股成长股承压。但人民银行的货币政策相对独立，"
    "国内稳增长政策也会对冲外部冲击。历史上加息周期中A股表现分化。",
    "2022-11-03", "news", "finance", lang="zh", region="cn")
doc("fed-ashare-03", "Fed hike cycle 2022: A-share sectors compared",
    "During the 2022 Federal Reserve rate hike cycle, A-share banks and energy stocks held up "
    "while technology and new-energy sectors fell. The yuan weakened past 7.2 per dollar.",
    "2023-01-10", "journal", "finance", region="cn")
doc("fed-us-01", "Fed raises rates by 75 basis points",
    "The Federal Reserve raised its benchmark rate by 75 basis points to fight inflation, the "
    "largest hike since 1994. US stocks swung wildly and Treasury yields climbed.",
    "2022-06-15", "news", "finance", region="us")
doc("fed-us-02", "Mortgage rates after the Fed's hikes",
    "Thirty-year mortgage rates doubled within a year of the Fed's first hike, cooling home "
    "sales across the United States.",
    "2023-04-02", "news", "finance", region="us")
doc("ashare-policy-01", "A-shares rally on stimulus hopes",
    "Shanghai and Shenzhen stocks rallied after regulators cut stamp duty on share trading and "
    "signalled support for property developers.",
    "2023-08-28", "news", "finance", region="cn")
doc("fed-ashare-selfmedia", "Fed hike = A-share crash?! Must read",
    "Fed rate hike, A-shares crash, A-shares Fed, sell everything now! Rate hikes always crush "
    "A-shares, trust me.",
    "2023-03-24", "self-media", "finance", region="cn")

# ---- overheating phone vs battery tips ----
doc("phone-heat-01", "Why your phone overheats and how to cool it down",
    "A phone overheats when the processor runs hard for long periods: gaming, navigation, video "
    "calls, or charging while in use. Remove the case, close background apps, and keep it out "
    "of direct sun. Heat dissipation through the frame is limited in thin phones.",
    "2024-02-18", "vendor", "phone-heat")
doc("phone-heat-02", "Thermal throttling explained",
    "When the chip temperature passes a threshold, the phone lowers clock speeds to protect "
    "itself. This thermal throttling makes games stutter. Vapor chambers and graphite sheets "
    "improve heat dissipation.",
    "2023-09-07", "blog", "phone-heat")
doc("phone-heat-zh-01", "手机发热严重怎么办",
    "手机发热通常是处理器长时间高负载导致的，比如玩游戏、导航或边充电边使用。可以取下手机壳、关闭后台应用，"
    "避免阳光直射。轻薄机身的散热能力有限。",
    "2023-07-15", "self-media", "phone-heat", lang="zh", region="cn")
doc("phone-heat-03", "Is it safe when a phone gets hot while charging?",
    "Some warmth while fast charging is normal. If the phone becomes too hot to hold, unplug it: "
    "lithium-ion cells age faster at high temperature, and the thermal protection may stop "
    "charging.",
    "2022-05-30", "encyclopedia", "phone-heat")
doc("battery-tips-01", "Ten tips to make your phone battery last longer",
    "Lower the screen brightness, use dark mode on OLED screens, turn off location for apps that "
    "do not need it, and keep the battery between 20 and 80 percent. Avoid leaving the phone in "
    "a hot car.",
    "2023-11-11", "blog", "phone-battery")
doc("battery-tips-02", "Battery health: what the percentage means",
    "Battery health measures remaining capacity compared with a new battery. After 500 full "
    "cycles most phone batteries keep about 80 percent of their capacity.",
    "2022-08-19", "vendor", "phone-battery")
doc("battery-tips-03", "Optimized charging and battery lifespan",
    "Optimized charging learns your routine and waits to finish charging past 80 percent until "
    "you need the phone, reducing battery wear.",
    "2021-10-03", "vendor", "phone-battery")

# ---- quantum entanglement, Chinese and English ----
doc("quantum-en-01", "Quantum entanglement explained simply",
    "Two particles are entangled when their states cannot be described separately: measuring "
    "one instantly fixes the correlated outcome for the other, however far apart they are. "
    "Entanglement cannot carry a message faster than light.",
    "2022-10-04", "encyclopedia", "physics")
doc("quantum-en-02", "Nobel Prize in Physics 2022: experiments with entangled photons",
    "Alain Aspect, John Clauser and Anton Zeilinger were awarded the Nobel Prize for experiments "
    "with entangled photons that violated Bell inequalities and pioneered quantum information "
    "science.",
    "2022-10-05", "news", "physics")
doc("quantum-zh-01", "什么是量子纠缠",
    "量子纠缠是指两个粒子的状态无法单独描述：测量其中一个，另一个的结果会立即确定，无论相距多远。"
    "但量子纠缠不能用来超光速传递信息。",
    "2023-04-12", "encyclopedia", "physics", lang="zh", region="cn")
doc("quantum-zh-02", "墨子号卫星实现千公里级量子纠缠分发",
    "中国的墨子号量子科学实验卫星在相距一千二百公里的两个地面站之间实现了量子纠缠分发，"
    "为量子通信网络奠定了基础。",
    "2017-06-16", "news", "physics", lang="zh", region="cn")
doc("quantum-en-03", "Quantum key distribution from space",
    "The Micius satellite distributed entangled photon pairs to ground stations 1,200 km apart, "
    "a step toward a global quantum communication network.",
    "2017-06-15", "journal", "physics")

# ---- guide-dog robot training (long-tail) ----
doc("guide-robot-01", "Training a guide-dog robot to cross the street",
    "Researchers trained a quadruped guide-dog robot with reinforcement learning in simulation, "
    "then fine-tuned it on real crosswalks. The robot learns to stop at the curb, wait for the "
    "signal and lead the handler through the leash with gentle force feedback.",
    "2024-04-09", "journal", "robotics")
doc("guide-robot-02", "导盲机器狗如何训练",
    "导盲机器狗先在仿真环境中通过强化学习训练，再在真实路口微调。它需要学会在路沿停下、识别红绿灯，"
    "并通过牵引绳把方向信息传给视障用户。",
    "2024-06-21", "news", "robotics", lang="zh", region="cn")
doc("guide-dog-01", "How guide dogs are trained",
    "Guide dog puppies live with volunteer families for a year, then spend months in formal "
    "training: stopping at curbs, intelligent disobedience, and ignoring distractions.",
    "2016-09-12", "encyclopedia", "dogs")
doc("robot-arm-01", "Teaching robot arms by demonstration",
    "Imitation learning lets a robot arm pick up new tasks from a few human demonstrations "
    "recorded with a motion-capture glove.",
    "2023-02-27", "blog", "robotics")

# ---- diversity: sugar control vs exercise management ----
doc("dm-sugar-01", "Blood sugar control in type 2 diabetes",
    "Blood sugar control in type 2 diabetes rests on monitoring glucose, taking metformin as "
    "prescribed and keeping HbA1c below 7 percent. Good sugar control prevents complications.",
    "2023-04-03", "guideline", "diabetes-sugar")
doc("dm-sugar-02", "Daily blood sugar control for diabetes patients",
    "Check your blood sugar before meals and at bedtime. Sugar control targets for diabetes "
    "patients are 4.4 to 7.0 mmol/L fasting. Log every reading to see patterns in sugar "
    "control.",
    "2022-09-14", "hospital", "diabetes-sugar")
doc("dm-sugar-03", "Diabetes sugar control: HbA1c and glucose targets",
    "HbA1c reflects average blood sugar over three months. For diabetes sugar control most "
    "adults aim for HbA1c below 7 percent and fasting glucose under 7 mmol/L.",
    "2023-10-21", "journal", "diabetes-sugar")
doc("dm-sugar-04", "Continuous glucose monitors for sugar control",
    "A continuous glucose monitor shows blood sugar every few minutes, helping diabetes patients "
    "tighten sugar control and catch lows overnight.",
    "2024-03-08", "vendor", "diabetes-sugar")
doc("dm-exercise-01", "Exercise management for diabetes",
    "Exercise management is the other pillar of diabetes care next to blood sugar control: 150 "
    "minutes of brisk walking or cycling a week plus two sessions of resistance training improve "
    "insulin sensitivity. Check glucose before exercise and carry a snack.",
    "2023-06-18", "guideline", "diabetes-exercise")
doc("dm-exercise-02", "糖尿病运动管理",
    "糖尿病患者每周应进行至少150分钟的中等强度有氧运动，并配合两次抗阻训练。运动前后监测血糖，"
    "随身携带糖果以防低血糖。",
    "2022-12-05", "hospital", "diabetes-exercise", lang="zh", region="cn")
doc("dm-sugar-zh-01", "糖尿病患者如何控糖",
    "控糖的关键是规律监测血糖、按时服药和合理饮食。糖化血红蛋白控制在7%以下可以减少并发症。",
    "2023-08-30", "hospital", "diabetes-sugar", lang="zh", region="cn")

# ---- filler: other topics, from hand-written sentence pools ----
POOLS = {
    "cooking": ("Kitchen notes", [
        "Sear the meat in a hot pan before braising to build flavour.",
        "Rest bread dough overnight in the fridge for a more complex taste.",
        "A pinch of salt in caramel balances the sweetness.",
        "Toast whole spices before grinding them.",
        "Blanch green vegetables and shock them in ice water to keep their colour.",
        "Use a thermometer: chicken is done at 74 degrees Celsius.",
        "Deglaze the pan with wine to lift the browned bits into the sauce.",
        "Soak dried beans for eight hours and discard the water.",
    ]),
    "travel": ("Travel guide", [
        "The old town is best explored on foot early in the morning.",
        "Buy a regional rail pass if you plan more than three train trips.",
        "Museums are free on the first Sunday of the month.",
        "Pack layers: mountain weather changes quickly in the afternoon.",
        "Street food stalls near the night market open after sunset.",
        "Book ferry tickets a week ahead in the summer season.",
        "The coastal trail takes about four hours one way.",
        "Carry some cash; small guesthouses rarely take cards.",
    ]),
    "programming": ("Developer notes", [
        "Profile before optimizing: most time is spent in a few hot loops.",
        "Write the test that fails before fixing the bug.",
        "A hash map with open addressing keeps memory access predictable.",
        "Use address sanitizer builds in continuous integration.",
        "Prefer small pure functions that are easy to test.",
        "Memory-mapped files let the operating system manage caching.",
        "Fuzzing finds parser bugs that unit tests miss.",
        "Document the file format next to the code that reads it.",
    ]),
    "astronomy": ("Sky watch", [
        "The Perseid meteor shower peaks in mid August.",
        "Jupiter's four largest moons are visible through binoculars.",
        "A total solar eclipse crosses the continent next spring.",
        "Light pollution hides all but the brightest stars in cities.",
        "The James Webb telescope observes in infrared light.",
        "Saturn's rings are tilted edge-on every fifteen years.",
        "Comets brighten as they approach the sun.",
        "A red moon during a lunar eclipse is sunlight bent by Earth's atmosphere.",
    ]),
    "gardening": ("Garden diary", [
        "Water tomatoes deeply twice a week rather than a little every day.",
        "Mulch keeps the soil moist and suppresses weeds.",
        "Prune roses in late winter before new growth starts.",
        "Compost needs a balance of green and brown material.",
        "Plant garlic cloves in autumn for a summer harvest.",
        "Aphids can be washed off with a strong jet of water.",
        "Rotate crops to prevent soil-borne diseases.",
        "Basil grows best in full sun and warm soil.",
    ]),
    "sports": ("Sports roundup", [
        "The home team won the derby with a late header.",
        "Marathon runners taper their training two weeks before the race.",
        "The tennis final went to a fifth-set tiebreak.",
        "Swimmers broke two world records at the championships.",
        "The league introduced video review for offside calls.",
        "Cyclists climbed three mountain passes on the queen stage.",
        "The rookie scored forty points in his first playoff game.",
        "Rain delayed the cricket match by two hours.",
    ]),
    "history": ("History notes", [
        "The printing press spread literacy across Europe within a century.",
        "The Silk Road linked Chang'an with the Mediterranean.",
        "The Great Wall was rebuilt extensively during the Ming dynasty.",
        "Steam engines powered the first industrial factories.",
        "The Rosetta Stone made Egyptian hieroglyphs readable.",
        "Ancient Rome's aqueducts carried water for dozens of kilometres.",
        "The Treaty of Westphalia ended the Thirty Years' War in 1648.",
        "Paper was invented in China during the Han dynasty.",
    ]),
    "climate": ("Climate and energy", [
        "Solar panel prices fell by ninety percent in a decade.",
        "Heat waves are becoming longer and more frequent.",
        "Wind farms at sea produce steadier power than onshore turbines.",
        "Glaciers in the Alps lost a tenth of their volume in two years.",
        "Heat pumps move heat instead of burning fuel.",
        "Grid batteries smooth the evening peak in demand.",
        "Reforestation projects must use native species to succeed.",
        "Coastal cities are building sea walls against storm surges.",
    ]),
    "pets": ("Pet care", [
        "Cats need fresh water every day, ideally from a fountain.",
        "Puppies should meet many people and places before sixteen weeks.",
        "Brush a long-haired dog several times a week.",
        "Chocolate and grapes are toxic to dogs.",
        "Indoor cats live longer on average than outdoor cats.",
        "Rabbits need hay as the main part of their diet.",
        "Trim your dog's nails when you hear them click on the floor.",
        "Microchip your pet and keep the contact details current.",
    ]),
    "education": ("Learning", [
        "Spaced repetition beats cramming for long-term memory.",
        "Students learn more when they explain ideas in their own words.",
        "Short quizzes at the start of class improve retention.",
        "Reading aloud to children builds vocabulary.",
        "Project-based learning connects maths to real problems.",
        "Sleep consolidates what was learned during the day.",
        "Feedback works best when it is specific and timely.",
        "Bilingual children switch tasks more flexibly.",
    ]),
}
ZH_POOLS = {
    "cooking": ("厨房笔记", ["炖肉前先把肉煎香。", "面团冷藏发酵一夜味道更好。", "焯水后的青菜过冷水能保持翠绿。",
                         "香料先炒香再研磨。", "做红烧肉要小火慢炖。", "蒸鱼时间不宜过长。"]),
    "travel": ("旅行指南", ["古城最好在清晨步行游览。", "夏季渡轮票需要提前一周预订。", "夜市的小吃摊在日落后开张。",
                        "山区午后天气多变，注意带外套。", "每月第一个周日博物馆免费。", "小客栈多数不能刷卡。"]),
    "climate": ("气候与能源", ["光伏组件价格十年下降了九成。", "热浪变得更长更频繁。", "海上风电比陆上风电更稳定。",
                         "热泵通过搬运热量取暖。", "电网储能可以平抑晚高峰。", "沿海城市正在修建防潮堤。"]),
}
SOURCES = ["news", "blog", "encyclopedia", "forum", "self-media", "journal", "vendor", "gov"]

rnd = random.Random(20240601)


def rand_date():
    y = rnd.randint(2008, 2025)
    m = rnd.randint(1, 12 if y < 2025 else 5)
    return "%04d-%02d-%02d" % (y, m, rnd.randint(1, 28))


n_filler = 0
while len(docs) < 200:
    zh = n_filler % 7 == 6
    pools = ZH_POOLS if zh else POOLS
    topic = rnd.choice(sorted(pools))
    title_base, sents = pools[topic]
    picked = rnd.sample(sents, rnd.randint(2, 4))
    src = rnd.choice(SOURCES)
    text = ("" if zh else " ").join(picked)
    title = "%s: %s" % (title_base, picked[0].rstrip(".。"))
    date = rand_date() if rnd.random() > 0.08 else None  # a few undated documents
    auth = AUTH[src] if rnd.random() > 0.2 else None      # some without an authority field
    doc("filler-%03d" % n_filler, title, text, date, src, topic, lang="zh" if zh else "en",
        region="cn" if zh else rnd.choice(["global", "us", "eu", "cn"]), authority=auth)
    if auth is None:
        del docs[-1]["authority"]
    n_filler += 1

for d in docs:
    sys.stdout.write(json.dumps(d, ensure_ascii=False) + "\n")
