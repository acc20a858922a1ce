namespace Minimind.Model.Evaluation;

/// <summary>
/// C-Eval and CMMLU as lm-evaluation-harness runs them (lm_eval/tasks/ceval/_default_ceval_yaml, cmmlu/_default_template_yaml):
/// one task per subject, a per-subject description naming the subject in Chinese, the question rendered as
/// <c>{{question.strip()}}\nA. {{A}}\nB. {{B}}\nC. {{C}}\nD. {{D}}\n答案：</c>, choices "A".."D", and few-shot examples
/// taken in file order from the subject's dev split (sampler <c>first_n</c>). The files are the benchmarks' own csv
/// layout: C-Eval <c>val/SUBJECT_val.csv</c> and <c>dev/SUBJECT_dev.csv</c> (columns id, question, A..D, answer),
/// CMMLU <c>test/SUBJECT.csv</c> and <c>dev/SUBJECT.csv</c> (an unnamed index column, Question, A..D, Answer).
/// </summary>
public sealed class ExamBenchmark
{
    /// <summary>The task name (<c>ceval</c>, <c>cmmlu</c>).</summary>
    public string Name { get; }
    /// <summary>The split scored (C-Eval: val, whose answers are public; CMMLU: test).</summary>
    public string EvalSplit { get; }
    /// <summary>The split the few-shot examples come from.</summary>
    public string FewShotSplit => "dev";
    /// <summary>Column of the question text.</summary>
    public string QuestionColumn { get; }
    /// <summary>Column of the answer letter.</summary>
    public string AnswerColumn { get; }
    /// <summary>Subject file name → its Chinese name (the names the benchmarks publish, as lm-eval's task YAMLs use them).</summary>
    public IReadOnlyDictionary<string, string> Subjects { get; }

    private readonly string _descriptionFormat;
    private readonly bool _splitSuffix;

    private ExamBenchmark(string name, string evalSplit, string question, string answer, string descriptionFormat, bool splitSuffix,
        Dictionary<string, string> subjects)
    {
        Name = name; EvalSplit = evalSplit; QuestionColumn = question; AnswerColumn = answer;
        _descriptionFormat = descriptionFormat; _splitSuffix = splitSuffix; Subjects = subjects;
    }

    /// <summary>The answer choices of every question.</summary>
    public static IReadOnlyList<string> Letters { get; } = new[] { "A", "B", "C", "D" };

    /// <summary>C-Eval (lm-eval's ceval-valid group: 52 subjects, val split).</summary>
    public static ExamBenchmark CEval { get; } = new("ceval", "val", "question", "answer", "以下是中国关于{0}的单项选择题，请选出其中的正确答案。\n\n", true,
        new Dictionary<string, string>
        {
        ["accountant"] = "注册会计师", ["advanced_mathematics"] = "高等数学", ["art_studies"] = "艺术学",
        ["basic_medicine"] = "基础医学", ["business_administration"] = "工商管理",
        ["chinese_language_and_literature"] = "中国语言文学", ["civil_servant"] = "公务员", ["clinical_medicine"] = "临床医学",
        ["college_chemistry"] = "大学化学", ["college_economics"] = "大学经济学", ["college_physics"] = "大学物理",
        ["college_programming"] = "大学编程", ["computer_architecture"] = "计算机组成", ["computer_network"] = "计算机网络",
        ["discrete_mathematics"] = "离散数学", ["education_science"] = "教育学", ["electrical_engineer"] = "注册电气工程师",
        ["environmental_impact_assessment_engineer"] = "环境影响评价工程师", ["fire_engineer"] = "注册消防工程师",
        ["high_school_biology"] = "高中生物", ["high_school_chemistry"] = "高中化学", ["high_school_chinese"] = "高中语文",
        ["high_school_geography"] = "高中地理", ["high_school_history"] = "高中历史", ["high_school_mathematics"] = "高中数学",
        ["high_school_physics"] = "高中物理", ["high_school_politics"] = "高中政治",
        ["ideological_and_moral_cultivation"] = "思想道德修养与法律基础", ["law"] = "法学", ["legal_professional"] = "法律职业资格",
        ["logic"] = "逻辑学", ["mao_zedong_thought"] = "毛泽东思想和中国特色社会主义理论体系概论", ["marxism"] = "马克思主义基本原理",
        ["metrology_engineer"] = "注册计量师", ["middle_school_biology"] = "初中生物", ["middle_school_chemistry"] = "初中化学",
        ["middle_school_geography"] = "初中地理", ["middle_school_history"] = "初中历史",
        ["middle_school_mathematics"] = "初中数学", ["middle_school_physics"] = "初中物理",
        ["middle_school_politics"] = "初中政治", ["modern_chinese_history"] = "近代史纲要", ["operating_system"] = "操作系统",
        ["physician"] = "医师资格", ["plant_protection"] = "植物保护", ["probability_and_statistics"] = "概率统计",
        ["professional_tour_guide"] = "导游资格", ["sports_science"] = "体育学", ["tax_accountant"] = "税务师",
        ["teacher_qualification"] = "教师资格", ["urban_and_rural_planner"] = "注册城乡规划师", ["veterinary_medicine"] = "兽医学",
        });

    /// <summary>CMMLU (lm-eval's cmmlu group: 67 subjects, test split).</summary>
    public static ExamBenchmark Cmmlu { get; } = new("cmmlu", "test", "Question", "Answer", "以下是关于{0}的单项选择题，请直接给出正确答案的选项。\n\n", false,
        new Dictionary<string, string>
        {
        ["agronomy"] = "农学", ["anatomy"] = "解剖学", ["ancient_chinese"] = "古汉语", ["arts"] = "艺术学",
        ["astronomy"] = "天文学", ["business_ethics"] = "商业伦理", ["chinese_civil_service_exam"] = "中国公务员考试",
        ["chinese_driving_rule"] = "中国驾驶规则", ["chinese_food_culture"] = "中国饮食文化",
        ["chinese_foreign_policy"] = "中国外交政策", ["chinese_history"] = "中国历史", ["chinese_literature"] = "中国文学",
        ["chinese_teacher_qualification"] = "中国教师资格", ["clinical_knowledge"] = "临床知识",
        ["college_actuarial_science"] = "大学精算学", ["college_education"] = "大学教育学",
        ["college_engineering_hydrology"] = "大学工程水文学", ["college_law"] = "大学法律", ["college_mathematics"] = "大学数学",
        ["college_medical_statistics"] = "大学医学统计", ["college_medicine"] = "大学医学", ["computer_science"] = "计算机科学",
        ["computer_security"] = "计算机安全", ["conceptual_physics"] = "概念物理学",
        ["construction_project_management"] = "建设工程管理", ["economics"] = "经济学", ["education"] = "教育学",
        ["electrical_engineering"] = "电气工程", ["elementary_chinese"] = "小学语文", ["elementary_commonsense"] = "小学常识",
        ["elementary_information_and_technology"] = "小学信息技术", ["elementary_mathematics"] = "初等数学",
        ["ethnology"] = "民族学", ["food_science"] = "食品科学", ["genetics"] = "遗传学", ["global_facts"] = "全球事实",
        ["high_school_biology"] = "高中生物", ["high_school_chemistry"] = "高中化学", ["high_school_geography"] = "高中地理",
        ["high_school_mathematics"] = "高中数学", ["high_school_physics"] = "高中物理学", ["high_school_politics"] = "高中政治",
        ["human_sexuality"] = "人类性行为", ["international_law"] = "国际法学", ["journalism"] = "新闻学",
        ["jurisprudence"] = "法理学", ["legal_and_moral_basis"] = "法律与道德基础", ["logical"] = "逻辑学",
        ["machine_learning"] = "机器学习", ["management"] = "管理学", ["marketing"] = "市场营销",
        ["marxist_theory"] = "马克思主义理论", ["modern_chinese"] = "现代汉语", ["nutrition"] = "营养学", ["philosophy"] = "哲学",
        ["professional_accounting"] = "专业会计", ["professional_law"] = "专业法学", ["professional_medicine"] = "专业医学",
        ["professional_psychology"] = "专业心理学", ["public_relations"] = "公共关系", ["security_study"] = "安全研究",
        ["sociology"] = "社会学", ["sports_science"] = "体育学", ["traditional_chinese_medicine"] = "中医中药",
        ["virology"] = "病毒学", ["world_history"] = "世界历史", ["world_religions"] = "世界宗教",
        });

    /// <summary>The description lm-eval puts before a subject's prompts; throws for a subject it has no name for.</summary>
    public string Description(string subject) => Subjects.TryGetValue(subject, out var zh)
        ? string.Format(System.Globalization.CultureInfo.InvariantCulture, _descriptionFormat, zh)
        : throw new InvalidDataException(
            $"{Name}: unknown subject '{subject}' (from the file name); known: {string.Join(", ", Subjects.Keys)}. Pass --description to give the prompt's description yourself");

    /// <summary>The file name of <paramref name="subject"/>'s <paramref name="split"/> (accountant_val.csv; agronomy.csv).</summary>
    public string FileName(string subject, string split) => _splitSuffix ? $"{subject}_{split}.csv" : $"{subject}.csv";

    /// <summary>The subject a csv file holds, from its name (accountant_val.csv → accountant).</summary>
    public string SubjectOf(string csvPath)
    {
        string stem = Path.GetFileNameWithoutExtension(csvPath);
        foreach (var split in new[] { "_val", "_dev", "_test" })
            if (_splitSuffix && stem.EndsWith(split, StringComparison.Ordinal)) return stem[..^split.Length];
        return stem;
    }

    /// <summary>
    /// The subjects under <paramref name="path"/>: a folder holding <c>EVALSPLIT/</c> (every subject file there, in
    /// name order), or one csv of the evaluation split. Each comes with its dev file (<c>dev/</c> beside the split's
    /// folder), which may not exist; <paramref name="fewShotPath"/> replaces it for a single file.
    /// </summary>
    public IReadOnlyList<(string Subject, string EvalCsv, string DevCsv)> Locate(string path, string? fewShotPath)
    {
        if (Directory.Exists(path))
        {
            if (fewShotPath is not null) throw new ArgumentException($"--fewshot-data applies to one csv file; {path} is a folder (its dev/ folder is used)");
            string evalDir = Path.Combine(path, EvalSplit);
            if (!Directory.Exists(evalDir))
                throw new DirectoryNotFoundException($"{path}: no '{EvalSplit}' folder ({Name} keeps the scored split in {EvalSplit}/ and the few-shot examples in dev/)");
            var files = Directory.GetFiles(evalDir, "*.csv").OrderBy(f => f, StringComparer.Ordinal).ToList();
            if (files.Count == 0) throw new InvalidDataException($"{evalDir}: no .csv files");
            return files.Select(f => (SubjectOf(f), f, Path.Combine(path, FewShotSplit, FileName(SubjectOf(f), FewShotSplit)))).ToList();
        }
        if (!File.Exists(path)) throw new FileNotFoundException($"{Name} data not found: {path} (give the benchmark's folder or one subject's csv)", path);
        string subject = SubjectOf(path);
        string dev = fewShotPath ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "..", FewShotSplit, FileName(subject, FewShotSplit));
        return new[] { (subject, path, Path.GetFullPath(dev)) };
    }

    /// <summary>
    /// One task per subject under <paramref name="path"/> (see <see cref="Locate"/>); a subject's examples are its dev file
    /// when it exists. <paramref name="description"/> replaces the subject's description when given.
    /// </summary>
    public IReadOnlyList<McTask> Open(string path, string? fewShotPath, string? description = null) =>
        Locate(path, fewShotPath).Select(s => new McTask(s.Subject, description ?? Description(s.Subject), ReadDocs(s.EvalCsv),
            File.Exists(s.DevCsv) ? ReadDocs(s.DevCsv) : null, FewShotSampling.FirstN, s.DevCsv, ExcludeEvalDoc: false)).ToList();

    /// <summary>The questions of one csv file: text as lm-eval's template renders it, choices A..D, the answer's index.</summary>
    public IReadOnlyList<McDoc> ReadDocs(string csvPath)
    {
        var t = CsvTable.Read(csvPath);
        int q = t.Column(QuestionColumn), ans = t.Column(AnswerColumn);
        var opts = Letters.Select(t.Column).ToArray();
        var docs = new List<McDoc>(t.Rows.Count);
        for (int r = 0; r < t.Rows.Count; r++)
        {
            var row = t.Rows[r];
            int label = row[ans] switch { "A" => 0, "B" => 1, "C" => 2, "D" => 3, _ => -1 };
            if (label < 0)
                throw new InvalidDataException($"{csvPath}:{t.RowLines[r]}: {AnswerColumn} is '{row[ans]}', expected one of A, B, C, D" +
                    (row[ans].Length == 0 ? $" (the {Name} test split has no public answers; score the {EvalSplit} split)" : ""));
            string text = PyText.Strip(row[q]) + "\nA. " + row[opts[0]] + "\nB. " + row[opts[1]] + "\nC. " + row[opts[2]] + "\nD. " + row[opts[3]] + "\n答案：";
            docs.Add(new McDoc(text, Letters, label, string.Join('\u0001', row)));
        }
        return docs;
    }
}
